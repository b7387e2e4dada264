#!/usr/bin/env python3
"""Write the hand-made part of the fuzz seed corpus (fuzz/corpus/<target>/hand-*): files
written the way people write them, not by dengji. The rest of the corpus is dengji's own
exports (see docs/fuzzing.md) and what the fuzzer found. Needs openpyxl."""
import io
import json
import os
import struct
import sys
import zipfile

import openpyxl

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fuzz", "corpus")


def put(target, name, data):
    d = os.path.join(ROOT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "hand-" + name), "wb") as f:
        f.write(data)


def id_check(first17):
    w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    return "10X98765432"[sum(int(c) * x for c, x in zip(first17, w)) % 11]


def citizen_id(first17):
    return first17 + id_check(first17)


CC = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def credit_code(first17):
    w = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
    c = 31 - sum(CC.index(ch) * x for ch, x in zip(first17, w)) % 31
    return first17 + CC[0 if c == 31 else c]


# Two little-endian bytes of a day (from 2000-01-01) in front of the text, as the targets read.
def dated(days, text):
    return struct.pack("<H", days) + text.encode("utf-8")


ID1 = citizen_id("11010519800101002")
ID2 = citizen_id("44030619920230001")  # no such day
FIRM = credit_code("31110000MD012345")
LICENCE = "11101200511999001"

HEAD = ["序号", "姓名", "性别", "民族", "身份证号", "出生日期", "学历", "手机号", "党员状态（正式/预备）",
        "入党时间", "转正时间", "执业证号", "执业类别", "所在律所统一社会信用代码", "人员身份", "备注"]
ROWS = [
    ["1", "张三", "男", "汉", ID1, "1980.1.1", "本科", "139 1234 5678", "正式", "2000年7月1日", "2001-7",
     LICENCE, "专职", FIRM, "律师", ""],
    ["2", "李四", "女", "回族", ID1.lower(), "19800101", "研究生", "13912345678", "预备", "2024/7/1", "",
     "", "", FIRM, "行政人员", "与上一行身份证号相同"],
    ["3", "王五", "2", "1", ID2, "1992-02-30", "大专", "1391234567", "正式(转正)", "去年", "", "1110120051199900X",
     "兼职律师", "91110000MA0000000X", "实习律师", "=SUM(A1:A2)"],
    ["合计", "", "", "", "", "", "", "", "", "", "", "", "", "", "", ""],
]


def csv_text(rows):
    out = io.StringIO()
    for r in rows:
        out.write(",".join('"' + c.replace('"', '""') + '"' if ("," in c or '"' in c) else c for c in r))
        out.write("\r\n")
    return out.getvalue()


def xlsx(rows, merge=None, extra=None):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "党员名单"
    ws.append(["某某市律师行业党委 党员名单（2018年）"])
    for r in rows:
        ws.append(r)
    if merge:
        ws.merge_cells(merge)
    if extra:
        extra(ws)
    b = io.BytesIO()
    wb.save(b)
    return b.getvalue()


def odd_cells(ws):
    ws["F3"] = 29221.0  # a date serial
    ws["E4"] = 110105198001010020  # an ID typed as a number
    ws["D5"] = 1  # 民族 as the number 1
    ws["P3"] = "#N/A"


def files():
    text = csv_text([HEAD] + ROWS)
    yield "members-utf8-bom.csv", b"\xef\xbb\xbf" + text.encode("utf-8")
    yield "members-gb18030.csv", text.encode("gb18030")
    yield "members-utf16.csv", b"\xff\xfe" + text.replace(",", "\t").encode("utf-16-le")
    yield "members-bad-quote.csv", (text + '4,"赵六,男\r\n').encode("utf-8")
    yield "members.xlsx", xlsx([HEAD] + ROWS, merge="N3:N5", extra=odd_cells)
    firms = [["律师事务所名称", "统一社会信用代码", "行政区划", "组织形式", "执业律师人数", "是否建立党组织"],
             ["北京某某律师事务所", FIRM, "110105", "合伙", "12", "是"],
             ["北京某某(朝阳)律师事务所", credit_code("31110000MD054321"), "朝阳区", "个人", "1", "否"],
             ["", "31110000MD0123456", "999999", "国资", "-3", "也许"]]
    yield "firms.csv", csv_text(firms).encode("utf-8")
    yield "firms.xlsx", xlsx(firms)
    orgs = [["党组织名称", "党组织类型", "上级党组织", "所在律师事务所统一社会信用代码", "书记姓名", "成立时间"],
            ["中共北京某某律师事务所支部委员会", "支部", "中共北京市朝阳区律师行业委员会", FIRM, "张三", "2010-07-01"],
            ["联合党支部", "联合支部", "", FIRM + ";" + FIRM, "", "2030-01-01"]]
    yield "orgs.csv", csv_text(orgs).encode("utf-8")
    yield "only-header.csv", ",".join(HEAD).encode("utf-8")
    yield "empty-lines.csv", b"\r\n\r\n,,,\r\n"
    yield "not-a-sheet.zip", zip_without_workbook()
    yield "ole2.xls", bytes([0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) + b"\0" * 504
    yield "binary.csv", bytes(range(256))


def zip_without_workbook():
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/worksheets/sheet1.xml", "<worksheet><sheetData><row r=\"1\"><c r=\"A1\" t=\"inlineStr\"><is><t>姓名</t></is></c></row></sheetData></worksheet>")
    return b.getvalue()


def main():
    for name, data in files():
        put("sheet", name, data)
        for k in range(6):
            put("import_check", f"{k}-{name}", bytes([k]) + data)
    day = 6786  # 2018-07-31, the notice's cut-off
    for i, t in enumerate([ID1, ID1.lower(), ID2, " " + ID1 + " ", "１１０１０５１９８００１０１００２" + id_check("11010519800101002"),
                           ID1[:15], FIRM, FIRM.lower(), "91110000MA0000000X", LICENCE, "1110120051199900X",
                           "13912345678", "+86 139-1234-5678", "", "0"]):
        put("ids", f"{i:02}", dated(day, t))
    member = {"name": "张三", "sex": "1", "citizen_id": ID1, "birth_date": "1980-01-01", "ethnicity": "01",
              "education": "21", "mobile": "13912345678", "party_status": "full", "joined_on": "2000-07-01",
              "full_member_on": "2001-07-01", "licence_no": LICENCE, "practice_type": "1",
              "dues_paid_until": "2018-06", "last_life_on": "2018-06-15", "transfer_status": "in"}
    put("form_values", "member", dated(day, json.dumps(member, ensure_ascii=False)))
    odd = dict(member, joined_on="2030-01-01", full_member_on="1999-01-01", birth_date=1980, mobile=None,
               ethnicity=["01"], remarks={"a": "\u0007"})
    put("form_values", "odd-types", dated(day, json.dumps(odd, ensure_ascii=False)))
    put("form_values", "empty", dated(day, "{}"))
    put("form_values", "not-object", dated(day, "[1,2,3]"))
    for i, t in enumerate(["/", "/orgs/1?tab=a", "//evil.example", "/\\evil.example", "/%2F/evil.example",
                           "/%252F%252Fevil.example", "/%09/evil.example", "https://evil.example", "/a b",
                           "/%E4%B8%AD", "/%ZZ", "///x", "/\u3000/x"]):
        put("login_next", f"{i:02}", t.encode("utf-8"))


if __name__ == "__main__":
    sys.exit(main())
