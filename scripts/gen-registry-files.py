#!/usr/bin/env python3
"""Write a firm registry and an organisation roster for the import benchmark (BENCHMARKS.md).

    python3 scripts/gen-registry-files.py DB.sqlite PROVINCE_ID FIRMS OUT_DIR

reads the city-level nodes under PROVINCE_ID from a SQLite database and writes
OUT_DIR/firms.xlsx (FIRMS new firms, spread over those cities) and OUT_DIR/orgs.xlsx (one
party branch per firm for four firms in five, a joint branch for each further pair), both in
the columns of the system's templates. Needs openpyxl.
"""
import os
import sqlite3
import sys

import openpyxl

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]


def credit_code(seq):
    body = "31999999BN%07d" % seq
    total = sum(ALPHABET.index(c) * w for c, w in zip(body, WEIGHTS))
    return body + ALPHABET[(31 - total % 31) % 31]


def main():
    db, province, n, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    cities = sqlite3.connect(db).execute(
        "SELECT name, region_code FROM orgs WHERE parent_id = ? AND level = 'city' ORDER BY id",
        (province,),
    ).fetchall()
    os.makedirs(out, exist_ok=True)
    firms = openpyxl.Workbook(write_only=True)
    ws = firms.create_sheet("律师事务所名册")
    ws.append(["＊律师事务所名称", "＊统一社会信用代码", "＊所在行政区划", "＊组织形式", "＊律师人数", "所属地市级党组织"])
    placed = []
    for i in range(n):
        city, region = cities[i % len(cities)]
        ws.append(["基准%d律师事务所" % i, credit_code(i), region, "合伙所", 5 + i % 40, city])
        placed.append((credit_code(i), city))
    firms.save(os.path.join(out, "firms.xlsx"))

    orgs = openpyxl.Workbook(write_only=True)
    ws = orgs.create_sheet("党组织名册")
    ws.append(["＊党组织全称", "＊组织类别", "上级党组织", "所在行政区划", "所在律师事务所统一社会信用代码", "书记姓名", "联系电话", "成立日期"])
    single = n * 4 // 5
    for i in range(single):
        code, city = placed[i]
        ws.append(["中共基准%d律师事务所支部委员会" % i, "党支部", city, "", code, "张%d" % i, "13800138000", "2018-07-01"])
    by_city = {}
    for code, city in placed[single:]:
        by_city.setdefault(city, []).append(code)
    for city, codes in by_city.items():
        for j in range(0, len(codes) - 1, 2):
            ws.append(["中共%s基准联合支部%d" % (city, j), "联合党支部", city, "", "、".join(codes[j:j + 2]), "", "", ""])
    orgs.save(os.path.join(out, "orgs.xlsx"))


if __name__ == "__main__":
    main()
