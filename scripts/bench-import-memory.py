#!/usr/bin/env python3
"""Peak memory of the member import under files written to hurt it (the review's finding):
a sparse CSV whose every row breaks many rules, the same at the row limit, an .xlsx of the
same rows; then a running server taking six uploads at once, from one clerk and from six
users. Prints the peak resident set size of each and what the server answered.

    python3 scripts/bench-import-memory.py [--bin target/release/dengji] [--rows 199999]

Needs the release binary and Python's requests and openpyxl. Works in a temporary folder
with its own demo database (3,000 members); talks only to 127.0.0.1.
"""
import argparse, concurrent.futures, os, re, sqlite3, subprocess, sys, tempfile, time

import openpyxl
import requests

p = argparse.ArgumentParser()
p.add_argument("--bin", default="target/release/dengji")
p.add_argument("--rows", type=int, default=199_999)
args = p.parse_args()
binary = os.path.abspath(args.bin)
work = tempfile.mkdtemp(prefix="dengji-mem-")
db = os.path.join(work, "bench.db")
env = dict(os.environ, DENGJI_DATABASE_URL=f"sqlite://{db}", DENGJI_LOG="warn")


def run(*cmd):
    return subprocess.run([binary, *cmd], env=env, capture_output=True, text=True)


def peak_of(*cmd):
    out = subprocess.run(["/usr/bin/time", "-v", binary, *cmd], env=env, capture_output=True, text=True)
    kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", out.stderr).group(1))
    tail = (out.stdout.strip().splitlines() or [""])[0][:80]
    return kb / 1024, out.returncode, tail


assert run("demo", "--members", "3000").returncode == 0
con = sqlite3.connect(db)
# The demo firm clerk's own organisation: every demo account used below may import there.
node = con.execute("SELECT org_id FROM users WHERE username = 'suo'").fetchone()[0]

# Every row: a name only, so each one misses the ID number, ethnicity, education, … (the
# most findings a row can have).
def sparse_csv(path, rows):
    with open(path, "w", encoding="utf-8") as f:
        f.write("姓名,公民身份号码,民族,学历,手机号码,人员类别,入党日期,执业证号,执业类别\n")
        for i in range(rows):
            f.write(f"张{i},,,,,,,,\n")

files = {}
files["csv"] = os.path.join(work, "sparse.csv")
sparse_csv(files["csv"], args.rows)
files["csv-limit"] = os.path.join(work, "sparse-limit.csv")
sparse_csv(files["csv-limit"], 200_000)
# Every cell wrong in its own way, with values that differ row by row (every message is
# unique): the most memory a report can take.
HEAD = ["姓名", "公民身份号码", "民族", "学历", "手机号码", "人员类别", "入党日期", "执业证号", "执业类别"]

def bad_row(i):
    return [f"张{i}", f"1101011990{i % 10000:04d}123X", f"火星{i}族", f"博士后{i}", f"1{i:07d}",
            f"党员{i}", f"去年{i}", f"12345{i}", f"兼职{i}"]

files["csv-bad"] = os.path.join(work, "bad.csv")
with open(files["csv-bad"], "w", encoding="utf-8") as f:
    f.write(",".join(HEAD) + "\n")
    for i in range(args.rows):
        f.write(",".join(bad_row(i)) + "\n")
files["xlsx-bad"] = os.path.join(work, "bad.xlsx")
wb = openpyxl.Workbook(write_only=True)
ws = wb.create_sheet("附件1")
ws.append(HEAD)
for i in range(args.rows):
    ws.append(bad_row(i))
wb.save(files["xlsx-bad"])
files["xlsx"] = files["xlsx-bad"]

print(f"node {node}; files:", {k: f"{os.path.getsize(v) / 1e6:.1f} MB" for k, v in files.items()})
for name, path in list(files.items())[:4]:
    mb, rc, tail = peak_of("import", path, "--into", str(node), "--dry-run")
    print(f"dry run {name:10} peak {mb:6.0f} MB  exit {rc}  {tail}")

port = 18090
server = subprocess.Popen([binary, "serve", "--listen", f"127.0.0.1:{port}"], env=env,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
base = f"http://127.0.0.1:{port}"
try:
    for _ in range(100):
        try:
            requests.get(base + "/healthz", timeout=1)
            break
        except requests.ConnectionError:
            time.sleep(0.1)

    def session(user):
        s = requests.Session()
        s.post(base + "/login", data={"username": user, "password": "Dengji2018"}, allow_redirects=False)
        page = s.get(f"{base}/orgs/{node}/import").text
        token = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
        return s, token

    def upload(s_token):
        s, token = s_token
        with open(files["xlsx"], "rb") as f:
            r = s.post(f"{base}/orgs/{node}/import", data={"csrf": token, "kind": ""},
                       files={"file": ("名册.xlsx", f)}, allow_redirects=False)
        return r.status_code

    def hwm():
        with open(f"/proc/{server.pid}/status") as f:
            return int(re.search(r"VmHWM:\s+(\d+)", f.read()).group(1)) / 1024

    print(f"server at start: peak {hwm():.0f} MB")
    for label, users in [("one clerk", ["suo"] * 6),
                         ("six users", ["suo", "suo_shenhe", "shi", "shi_shenhe", "sheng", "admin"])]:
        sessions = [session(u) for u in users]
        with concurrent.futures.ThreadPoolExecutor(6) as pool:
            codes = list(pool.map(upload, sessions))
        print(f"6 uploads at once, {label}: answers {sorted(codes)}; server peak {hwm():.0f} MB")
finally:
    server.terminate()
    server.wait()
