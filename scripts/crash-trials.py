#!/usr/bin/env python3
"""kill -9 trials on dengji's long writes (issue 21 part 1).

Each trial starts from the same prepared database, runs one long write through the `dengji`
binary, kills it with SIGKILL at a random moment within the write's measured duration, then
asks two questions of what is left:

  * does `dengji check` pass (every invariant, tallies included)?
  * was the write applied fully or not at all — judged by content (the names, batch and
    counts the write produces), not by row counts alone?

Operations:
  import    a 100,000-row 附件1 workbook imported into the national node (one transaction)
  undo      the undo of that import batch
  demo      the demo generation (20,000 members) into an empty database
  deadlines a change of the campaign's four deadlines
  firms     a registry of 20,000 firms imported into a city-level node
  orgs      a roster of 20,000 party organisations (one per new firm) imported likewise
  approve   a bulk approval of 1,000 forms, posted to `dengji serve`; the server is killed
            mid-request
  accept    the acceptance of a submitted package, posted to `dengji serve`, server killed
  submit    the submission of a node's package, posted to `dengji serve`, server killed
  pgrestart (PostgreSQL only) the bulk approval again, but the database server is restarted
            mid-request instead: the server must answer (an error) while it is down, answer
            normally once it is back, and the approval be whole or absent

Usage (release build recommended):
  scripts/crash-trials.py --db sqlite --ops import,undo,demo,deadlines --trials 50
  scripts/crash-trials.py --db postgres --pg postgres://dengji:dengji@127.0.0.1 --trials 50

Prints one line per trial and a table (trials, fully applied, not applied, partial, check
failures) for BENCHMARKS.md. Exit status 1 when any trial left a partial write or a failed
check.
"""

import argparse
import http.cookiejar
import re
import socket
import threading
import urllib.error
import urllib.parse
import urllib.request
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

KEY = "2a" * 32


class Env:
    def __init__(self, args, work):
        self.args = args
        self.work = work
        self.bin = os.path.abspath(args.bin)
        self.key = os.path.join(work, "k.key")
        with open(self.key, "w") as f:
            f.write(KEY)
        os.chmod(self.key, 0o600)

    # Databases: an SQLite file copied per trial, or a PostgreSQL database made from a template.
    def url(self, name):
        if self.args.db == "sqlite":
            return "sqlite://" + os.path.join(self.work, name + ".db")
        return f"{self.args.pg}/{self.pg(name)}"

    def pg(self, name):
        """A PostgreSQL database's name: `--tag` first, so that two runs can share a server."""
        return name if name == "postgres" else self.args.tag + name

    def psql(self, sql, db="postgres"):
        out = subprocess.run(
            ["psql", "-qtAX", f"{self.args.pg}/{self.pg(db)}", "-c", sql],
            capture_output=True, text=True, check=True)
        return out.stdout.strip()

    def drop(self, name):
        if self.args.db == "sqlite":
            for s in ("", "-wal", "-shm"):
                p = os.path.join(self.work, name + ".db" + s)
                if os.path.exists(p):
                    os.remove(p)
        else:
            # A killed client's backend can take a moment to go: FORCE waits only 5 s.
            for attempt in range(10):
                try:
                    self.psql(f'DROP DATABASE IF EXISTS "{self.pg(name)}" WITH (FORCE)')
                    return
                except subprocess.CalledProcessError:
                    if attempt == 9:
                        raise
                    time.sleep(2)

    def clone(self, base, name):
        self.drop(name)
        if self.args.db == "sqlite":
            shutil.copyfile(os.path.join(self.work, base + ".db"),
                            os.path.join(self.work, name + ".db"))
        else:
            self.psql(f'CREATE DATABASE "{self.pg(name)}" TEMPLATE "{self.pg(base)}"')

    def empty(self, name):
        self.drop(name)
        if self.args.db == "postgres":
            self.psql(f'CREATE DATABASE "{self.pg(name)}"')

    def query(self, name, sql):
        """One value of a query on database `name`."""
        if self.args.db == "sqlite":
            c = sqlite3.connect(os.path.join(self.work, name + ".db"))
            try:
                return c.execute(sql).fetchone()[0]
            finally:
                c.close()
        return self.psql(sql, db=name)

    def query_all(self, name, sql):
        """Every row of a query on database `name`, as tuples of text."""
        if self.args.db == "sqlite":
            c = sqlite3.connect(os.path.join(self.work, name + ".db"))
            try:
                return [tuple(str(v) for v in r) for r in c.execute(sql).fetchall()]
            finally:
                c.close()
        out = self.psql(sql, db=name)
        return [tuple(line.split("|")) for line in out.splitlines() if line]

    def dengji(self, name, *argv, check=True):
        env = dict(os.environ, DENGJI_DATABASE_URL=self.url(name), DENGJI_KEY_FILE=self.key,
                   DENGJI_LOG="error")
        env.pop("DENGJI_CONFIG", None)
        out = subprocess.run([self.bin, *argv], env=env, capture_output=True, text=True)
        if check and out.returncode != 0:
            sys.exit(f"dengji {' '.join(argv)} failed: {out.stdout}{out.stderr}")
        return out

    def start(self, name, *argv):
        env = dict(os.environ, DENGJI_DATABASE_URL=self.url(name), DENGJI_KEY_FILE=self.key,
                   DENGJI_LOG="error")
        env.pop("DENGJI_CONFIG", None)
        return subprocess.Popen([self.bin, *argv], env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)

    def checkpoint(self, name):
        """Fold an SQLite database's WAL into its file so a plain copy is complete."""
        if self.args.db == "sqlite":
            c = sqlite3.connect(os.path.join(self.work, name + ".db"))
            c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            c.close()


def timed(env, name, argv):
    t = time.monotonic()
    env.dengji(name, *argv)
    return time.monotonic() - t


# Each operation: prepare() once, then per trial: fresh(name), argv, judge(name) -> 'full' | 'none' | 'partial: …'.
class ImportOp:
    label = "导入 100,000 行党员名单"

    def __init__(self, env, rows):
        self.env, self.rows = env, rows

    def prepare(self):
        e = self.env
        e.empty("ct_base")
        e.dengji("ct_base", "demo", "--members", "2000")
        self.file = os.path.join(e.work, "members.xlsx")
        # The bench writes the workbook, imports it and undoes it again.
        e.dengji("ct_base", "bench", "--import-rows", str(self.rows), "--import-file", self.file)
        e.checkpoint("ct_base")
        self.base_members = int(e.query("ct_base", "SELECT COUNT(*) FROM members"))
        e.clone("ct_base", "ct_probe")
        self.duration = timed(e, "ct_probe", ["import", self.file, "--into", "1"])
        e.drop("ct_probe")

    def fresh(self, name):
        self.env.clone("ct_base", name)
        return ["import", self.file, "--into", "1"]

    def judge(self, name):
        q = lambda sql: int(self.env.query(name, sql))
        members = q("SELECT COUNT(*) FROM members")
        imported = q("SELECT COUNT(*) FROM members WHERE name LIKE '导入%'")
        distinct = q("SELECT COUNT(DISTINCT name) FROM members WHERE name LIKE '导入%'")
        forms = q("SELECT COUNT(*) FROM registrations r JOIN members m ON m.id = r.member_id "
                  "WHERE m.name LIKE '导入%'")
        batches = q("SELECT COUNT(*) FROM import_batches WHERE file_name LIKE '%members.xlsx' "
                    "AND undone_at IS NULL")
        if (imported, batches, members) == (0, 0, self.base_members):
            return "none"
        if (imported == distinct == forms == self.rows and batches == 1
                and members == self.base_members + self.rows):
            return "full"
        return (f"partial: members {members}, imported {imported} ({distinct} names), "
                f"forms {forms}, batches {batches}")


class UndoOp(ImportOp):
    label = "撤销该导入批次"

    def prepare(self):
        super().prepare()
        e = self.env
        e.clone("ct_base", "ct_imported")
        e.dengji("ct_imported", "import", self.file, "--into", "1")
        e.checkpoint("ct_imported")
        self.batch = int(e.query("ct_imported", "SELECT MAX(id) FROM import_batches"))
        e.clone("ct_imported", "ct_probe")
        self.duration = timed(e, "ct_probe", ["import", "--undo", str(self.batch)])
        e.drop("ct_probe")

    def fresh(self, name):
        self.env.clone("ct_imported", name)
        return ["import", "--undo", str(self.batch)]

    def judge(self, name):
        state = super().judge(name)
        # Undo applied = the import is gone; not applied = it is all still there.
        return {"none": "full", "full": "none"}.get(state, state)


class DemoOp:
    label = "生成演示数据（20,000 名党员）"

    def __init__(self, env):
        self.env = env

    def prepare(self):
        e = self.env
        e.empty("ct_probe")
        self.duration = timed(e, "ct_probe", ["demo", "--members", "20000"])
        e.drop("ct_probe")

    def fresh(self, name):
        self.env.empty(name)
        # The schema first, so that a kill during the demo meets a migrated database.
        self.env.dengji(name, "migrate")
        self.env.checkpoint(name)
        return ["demo", "--members", "20000"]

    def judge(self, name):
        q = lambda sql: int(self.env.query(name, sql))
        members = q("SELECT COUNT(*) FROM members")
        users = q("SELECT COUNT(*) FROM users")
        if members == 0 and users == 0:
            return "none"
        if members == 20000 and users > 0:
            return "full"
        return f"partial: members {members}, users {users}"


class DeadlinesOp:
    label = "修改登记核查截止日期"
    NEW = ["2018-09-15", "2018-10-15", "2018-11-15", "2018-12-15"]

    def __init__(self, env):
        self.env = env

    def prepare(self):
        e = self.env
        e.empty("ct_dl")
        e.dengji("ct_dl", "demo", "--members", "2000")
        e.checkpoint("ct_dl")
        self.before = self.deadlines("ct_dl")
        e.clone("ct_dl", "ct_probe")
        self.duration = timed(e, "ct_probe", self.argv())
        e.drop("ct_probe")

    def argv(self):
        n = self.NEW
        return ["campaign", "deadlines", "--firm", n[0], "--city", n[1], "--province", n[2],
                "--national", n[3]]

    def deadlines(self, name):
        return self.env.query(
            name, "SELECT deadline_firm || ' ' || deadline_city || ' ' || deadline_province "
            "|| ' ' || deadline_national FROM campaigns ORDER BY id DESC LIMIT 1")

    def fresh(self, name):
        self.env.clone("ct_dl", name)
        return self.argv()

    def judge(self, name):
        now = self.deadlines(name)
        if now == self.before:
            return "none"
        if now == " ".join(self.NEW):
            return "full"
        return f"partial: {now}"


CC = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def credit_code(first17):
    """A GB 32100 code: the 17 characters and their check character."""
    w = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
    c = 31 - sum(CC.index(ch) * x for ch, x in zip(first17, w)) % 31
    return first17 + CC[0 if c == 31 else c]


class RegistryOp:
    """A registry file (firms, then organisations for them) imported into one city-level node."""
    N = 20000

    def __init__(self, env):
        self.env = env

    def base(self):
        e = self.env
        if getattr(e, "registry_base", None):
            return e.registry_base
        e.empty("ct_reg")
        e.dengji("ct_reg", "demo", "--members", "2000")
        e.checkpoint("ct_reg")
        city, region = e.query_all("ct_reg", "SELECT id, region_code FROM orgs WHERE level = 'city' "
                                   "AND region_code LIKE '%00' ORDER BY id LIMIT 1")[0]
        county = e.query("ct_reg", f"SELECT code FROM divisions WHERE code LIKE '{region[:4]}%' "
                         f"AND code <> '{region}' ORDER BY code LIMIT 1")
        codes = [credit_code(f"31{region}MD{i:07d}") for i in range(self.N)]
        firms = os.path.join(e.work, "firms.csv")
        with open(firms, "w", encoding="utf-8") as f:
            f.write("律师事务所名称,统一社会信用代码,所在行政区划,组织形式,律师人数\n")
            for i, c in enumerate(codes):
                f.write(f"导入律所{i:05d}律师事务所,{c},{county},合伙,{3 + i % 20}\n")
        orgs = os.path.join(e.work, "orgs.csv")
        with open(orgs, "w", encoding="utf-8") as f:
            f.write("党组织全称,组织类别,所在律师事务所统一社会信用代码,书记姓名\n")
            for i, c in enumerate(codes):
                f.write(f"中共导入律所{i:05d}律师事务所支部委员会,党支部,{c},张{i % 100}\n")
        e.registry_base = (city, firms, orgs)
        return e.registry_base

    def count(self, name, sql):
        return int(self.env.query(name, sql))

    def prepare(self):
        e = self.env
        self.city, firms, orgs = self.base()
        self.source, self.file = self.ready(firms, orgs)
        self.before = self.count(self.source, f"SELECT COUNT(*) FROM {self.kind}")
        e.clone(self.source, "ct_probe")
        self.duration = timed(e, "ct_probe", self.argv())
        if self.judge("ct_probe") != "full":
            raise SystemExit(f"{self.label}: the uninterrupted import did not apply: "
                             f"{self.judge('ct_probe')}")
        e.drop("ct_probe")

    def argv(self):
        return ["import", self.file, "--into", self.city, "--kind", self.kind]

    def fresh(self, name):
        self.env.clone(self.source, name)
        return self.argv()


class FirmsOp(RegistryOp):
    label = "导入 20,000 家律师事务所名册"
    kind = "firms"

    def ready(self, firms, orgs):
        """The database each trial copies and the file it imports."""
        return "ct_reg", firms

    def judge(self, name):
        new = self.count(name, "SELECT COUNT(*) FROM firms WHERE name LIKE '导入律所%'")
        distinct = self.count(name, "SELECT COUNT(DISTINCT credit_code) FROM firms WHERE name LIKE '导入律所%'")
        total = self.count(name, "SELECT COUNT(*) FROM firms")
        batches = self.count(name, "SELECT COUNT(*) FROM import_batches WHERE file_name LIKE '%firms.csv'")
        if (new, batches, total) == (0, 0, self.before):
            return "none"
        if new == distinct == self.N and batches == 1 and total == self.before + self.N:
            return "full"
        return f"partial: firms {total}, new {new} ({distinct} codes), batches {batches}"


class OrgsOp(RegistryOp):
    label = "导入 20,000 个党组织名册"
    kind = "orgs"

    def ready(self, firms, orgs):
        # The organisations' firms are in the registry first.
        e = self.env
        e.clone("ct_reg", "ct_orgs")
        e.dengji("ct_orgs", "import", firms, "--into", self.city, "--kind", "firms")
        e.checkpoint("ct_orgs")
        return "ct_orgs", orgs

    def judge(self, name):
        new = self.count(name, "SELECT COUNT(*) FROM orgs WHERE name LIKE '中共导入律所%'")
        linked = self.count(name, "SELECT COUNT(*) FROM firms f JOIN orgs o ON o.id = f.org_id "
                            "WHERE o.name LIKE '中共导入律所%'")
        total = self.count(name, "SELECT COUNT(*) FROM orgs")
        batches = self.count(name, "SELECT COUNT(*) FROM import_batches WHERE file_name LIKE '%orgs.csv'")
        if (new, batches, total) == (0, 0, self.before):
            return "none"
        if new == linked == self.N and batches == 1 and total == self.before + self.N:
            return "full"
        return f"partial: orgs {total}, new {new} (firms linked {linked}), batches {batches}"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`dengji serve` on a trial's database, and a signed-in browser-like client."""

    def __init__(self, env, name):
        self.env = env
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc = env.start(name, "serve", "--listen", f"127.0.0.1:{self.port}")
        self.jar = http.cookiejar.CookieJar()
        self.http = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        for _ in range(600):
            try:
                self.get("/login")
                return
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.1)
        raise SystemExit("dengji serve did not start")

    def get(self, path, timeout=30):
        with self.http.open(self.base + path, timeout=timeout) as r:
            return r.status, r.read().decode("utf-8", "replace")

    def post(self, path, fields, timeout=300):
        data = urllib.parse.urlencode(fields).encode()
        req = urllib.request.Request(self.base + path, data=data,
                                     headers={"Origin": self.base})
        try:
            with self.http.open(req, timeout=timeout) as r:
                return r.status, r.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode("utf-8", "replace")

    def login(self, username):
        status, _ = self.post("/login", {"username": username, "password": "Dengji2018"})
        if not any(c.name == "dengji_session" for c in self.jar):
            raise SystemExit(f"login of {username} failed ({status})")

    def csrf(self, path):
        _, page = self.get(path)
        m = re.search(r'name="csrf" value="([^"]+)"', page)
        if not m:
            raise SystemExit(f"no CSRF token on {path}")
        return m.group(1)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()


class WebOp:
    """A write posted to the server, killed (or its database restarted) mid-request."""
    kills_server = True
    # The database each trial copies (the submission's has its node's forms approved first).
    source = "ct_web"

    def __init__(self, env):
        self.env = env

    def base_db(self):
        e = self.env
        if not getattr(e, "web_base_ready", False):
            e.empty("ct_web")
            e.dengji("ct_web", "demo", "--members", "20000", "--in-progress")
            self.seed_submitted(ApproveOp.N)
            e.checkpoint("ct_web")
            e.web_base_ready = True

    def seed_submitted(self, n):
        """Forms waiting for review: the demo in motion has a few dozen; a bulk approval of
        1,000 needs more. As `dengji bench --approve-rounds` does, `n` members of the province
        with most members still without a form get a submitted 附件1 form (the tally triggers
        count them), in nodes whose package is not with their parent."""
        e = self.env
        unlocked = ("NOT EXISTS (SELECT 1 FROM registrations r WHERE r.member_id = m.id) AND NOT "
                    "EXISTS (SELECT 1 FROM packages p WHERE p.org_id = m.org_id AND p.state IN "
                    "('submitted', 'accepted'))")
        prov = e.query("ct_web", "SELECT o.id FROM orgs o JOIN members m ON m.org_path LIKE "
                       f"o.path || '%' WHERE o.level = 'province' AND {unlocked} GROUP BY o.id "
                       "ORDER BY COUNT(*) DESC, o.id LIMIT 1")
        data = ('{"name":"x","mobile":"13912345678","standing":"normal","holder_name":'
                '"中共某律师事务所支部委员会","holder_type":"own_firm","holder_region":"110101",'
                '"in_firm":"1","transfer_status":"transferred","dues_org":"中共某律师事务所支部委员会",'
                '"dues_paid_until":"2018-07","life_org":"中共某律师事务所支部委员会",'
                '"last_life_on":"2018-07-10","lost_contact":"0","mobile_member":"0","education":"21",'
                '"party_status":"full","joined_on":"2005-07-01","full_member_on":"2006-07-01"}')
        now = int(time.time())
        sql = ("INSERT INTO registrations (campaign_id, member_id, org_path, form_code, data, state, "
               "version, proxy_method, submitted_at, updated_at) SELECT (SELECT MAX(id) FROM "
               f"campaigns), m.id, m.org_path, 'A1', '{data}', 'submitted', 1, 'phone', {now}, {now} "
               f"FROM members m WHERE m.org_path LIKE (SELECT path FROM orgs WHERE id = {prov}) || '%' "
               f"AND {unlocked} ORDER BY m.id LIMIT {n}")
        if e.args.db == "sqlite":
            c = sqlite3.connect(os.path.join(e.work, "ct_web.db"))
            c.execute(sql)
            c.commit()
            c.close()
        else:
            e.psql(sql, db="ct_web")

    def prepare(self):
        self.base_db()
        self.choose()
        e = self.env
        e.clone(self.source, "ct_probe")
        srv = self.ready(Server(e, "ct_probe"))
        t = time.monotonic()
        status, page = srv.post(self.path, self.fields)
        self.duration = time.monotonic() - t
        srv.kill()
        if self.judge("ct_probe") != "full":
            raise SystemExit(f"{self.label}: the uninterrupted request did not apply "
                             f"({status}): {self.judge('ct_probe')} {page[:300]}")
        e.drop("ct_probe")

    def ready(self, srv):
        srv.login(self.username)
        self.fields = dict(self.form(), csrf=srv.csrf(self.page))
        return srv

    def fresh(self, name):
        self.env.clone(self.source, name)
        return None

    def package_outcome(self, name, action, org, value, none_full):
        """A package decision judged by its state (`value`, before or after: `none_full`) and
        its audit events, which must be none or exactly one."""
        audits = int(self.env.query(name, "SELECT COUNT(*) FROM audit_events WHERE action = "
                                    f"'{action}' AND target_id = '{org}'"))
        if (str(value), audits) == (none_full[0], 0):
            return "none"
        if (str(value), audits) == (none_full[1], 1):
            return "full"
        return f"partial: {value}, audit events {audits}"

    def run_trial(self, name, wait, restart=None):
        """Post the write and, `wait` s after, kill the server (or restart the database)."""
        srv = self.ready(Server(self.env, name))
        answer = {}

        def post():
            try:
                answer["status"] = srv.post(self.path, self.fields)[0]
            except Exception as exc:  # the connection dies with the server
                answer["status"] = type(exc).__name__

        th = threading.Thread(target=post)
        th.start()
        time.sleep(wait)
        note = ""
        if restart is None:
            finished = not th.is_alive()
            srv.kill()
            th.join()
        else:
            finished = not th.is_alive()
            note = restart(srv)
            th.join()
            srv.kill()
        return finished, f"answer {answer.get('status')}{note}"


class ApproveOp(WebOp):
    label = "批量审核通过 1,000 份登记表（网页，杀死服务进程）"
    N = 1000

    def choose(self):
        e = self.env
        # The province with the most forms waiting in unlocked nodes, and one of its reviewers.
        waiting = ("r.state = 'submitted' AND NOT EXISTS (SELECT 1 FROM members m JOIN packages p "
                   "ON p.org_id = m.org_id WHERE m.id = r.member_id AND p.state IN ('submitted', 'accepted'))")
        prov, path, count = e.query_all(
            "ct_web", "SELECT o.id, o.path, COUNT(*) FROM orgs o JOIN registrations r ON r.org_path LIKE "
            f"o.path || '%' WHERE o.level = 'province' AND {waiting} GROUP BY o.id, o.path "
            "ORDER BY COUNT(*) DESC, o.id LIMIT 1")[0]
        if int(count) < self.N:
            raise SystemExit(f"only {count} submitted forms in one province")
        # Its own reviewer, or the nearest above it (the demo has accounts in one province).
        self.username = e.query("ct_web", "SELECT u.username FROM users u JOIN orgs o ON o.id = u.org_id "
                                f"WHERE '{path}' LIKE o.path || '%' AND u.role = 'reviewer' AND "
                                "u.disabled = 0 ORDER BY length(o.path) DESC, u.id LIMIT 1")
        ids = e.query_all("ct_web", f"SELECT r.member_id FROM registrations r WHERE {waiting} AND "
                          f"r.org_path LIKE '{path}%' ORDER BY r.member_id LIMIT {self.N}")
        self.ids = [i for (i,) in ids]
        self.page = f"/orgs/{prov}/reviews"
        self.path = f"/orgs/{prov}/reviews"
        self.approved_before = int(e.query("ct_web", "SELECT COUNT(*) FROM registrations WHERE state = 'approved'"))

    def form(self):
        return [("member", i) for i in self.ids]

    def ready(self, srv):
        srv.login(self.username)
        self.fields = self.form() + [("csrf", srv.csrf(self.page))]
        return srv

    def judge(self, name):
        q = lambda sql: int(self.env.query(name, sql))
        idlist = ",".join(self.ids)
        approved = q(f"SELECT COUNT(*) FROM registrations WHERE state = 'approved' AND member_id IN ({idlist})")
        reviews = q(f"SELECT COUNT(*) FROM registration_reviews v JOIN registrations r ON r.id = v.registration_id "
                    f"WHERE v.decision = 'approve' AND r.member_id IN ({idlist})")
        total = q("SELECT COUNT(*) FROM registrations WHERE state = 'approved'")
        if approved == 0 and total == self.approved_before:
            return "none"
        if approved == self.N and reviews >= self.N and total == self.approved_before + self.N:
            return "full"
        return f"partial: approved {approved} of {self.N}, reviews {reviews}, all approved {total}"


class AcceptOp(WebOp):
    label = "接收下级报送（网页，杀死服务进程）"

    def choose(self):
        e = self.env
        # A submitted package whose parent has a reviewer: the largest subtree of them.
        row = e.query("ct_web", "SELECT p.org_id || '|' || o.parent_id || '|' || p.version FROM packages p JOIN orgs o ON o.id = p.org_id "
                      "WHERE p.state = 'submitted' AND EXISTS (SELECT 1 FROM users u WHERE u.org_id = o.parent_id "
                      "AND u.role = 'reviewer' AND u.disabled = 0) ORDER BY length(o.path), p.org_id LIMIT 1")
        if not row:
            raise SystemExit("no submitted package in the demo")
        self.child, parent, self.version = row.split("|")
        self.username = e.query("ct_web", f"SELECT username FROM users WHERE org_id = {parent} "
                                "AND role = 'reviewer' AND disabled = 0 LIMIT 1")
        self.page = f"/orgs/{self.child}/package"
        self.path = f"/orgs/{self.child}/package/accept"

    def form(self):
        return {"version": self.version, "reason": ""}

    def judge(self, name):
        state = self.env.query(name, f"SELECT state FROM packages WHERE org_id = {self.child} "
                               "ORDER BY id DESC LIMIT 1")
        return self.package_outcome(name, "package.accept", self.child, state,
                                    ("submitted", "accepted"))


class SubmitOp(WebOp):
    label = "报送本级登记材料（网页，杀死服务进程）"

    def choose(self):
        e = self.env
        # The first node (by depth) without a package up whose submission goes through: tried
        # on a copy, as its reviewer.
        rows = e.query_all("ct_web", "SELECT o.id, u.username FROM orgs o JOIN users u ON u.org_id = o.id "
                           "WHERE u.role = 'reviewer' AND u.disabled = 0 AND o.level IN ('firm', 'city') "
                           "AND NOT EXISTS (SELECT 1 FROM packages p WHERE p.org_id = o.id) "
                           "ORDER BY o.level DESC, o.id LIMIT 40")
        for org, user in rows:
            self.node, self.username = org, user
            self.page = self.path = f"/orgs/{org}/package"
            # Its forms waiting for review approved first (a package goes up without any).
            e.clone("ct_web", "ct_sub")
            srv = Server(e, "ct_sub")
            try:
                srv.login(user)
                path = e.query("ct_sub", f"SELECT path FROM orgs WHERE id = {org}")
                waiting = e.query_all("ct_sub", "SELECT member_id FROM registrations WHERE "
                                      f"state = 'submitted' AND org_path LIKE '{path}%'")
                if waiting:
                    reviews = f"/orgs/{org}/reviews"
                    srv.post(reviews, [("member", i) for (i,) in waiting]
                             + [("csrf", srv.csrf(reviews))])
            finally:
                srv.kill()
            e.checkpoint("ct_sub")
            # Then the submission tried on a copy.
            e.clone("ct_sub", "ct_try")
            srv = Server(e, "ct_try")
            try:
                self.ready(srv)
                srv.post(self.path, self.fields)
            finally:
                srv.kill()
            ok = self.judge("ct_try") == "full"
            e.drop("ct_try")
            if ok:
                self.source = "ct_sub"
                return
        raise SystemExit("no node of the demo can submit its package")

    def form(self):
        return {"secretary_name": "王强", "organiser_name": "李明", "contact_phone": "010-12345678",
                "missing_note": "尚有登记表未审核完毕，审核后补报"}

    def judge(self, name):
        n = self.env.query(name, f"SELECT COUNT(*) FROM packages WHERE org_id = {self.node} "
                           "AND state = 'submitted'")
        return self.package_outcome(name, "package.submit", self.node, n, ("0", "1"))


class PgRestartOp(ApproveOp):
    label = "批量审核通过 1,000 份登记表，其间重启 PostgreSQL"

    def restart(self, srv):
        subprocess.run(["pg_ctlcluster", "15", "main", "stop", "-m", "fast"], check=True,
                       capture_output=True)
        # While the database is down the server answers, with an error page.
        try:
            status = srv.get("/", timeout=30)[0]
        except urllib.error.HTTPError as e:
            status = e.code
        except Exception as exc:
            status = type(exc).__name__
        subprocess.run(["pg_ctlcluster", "15", "main", "start"], check=True, capture_output=True)
        # And once it is back, normally.
        back = None
        for _ in range(100):
            try:
                back = srv.get(self.page, timeout=30)[0]
                break
            except urllib.error.HTTPError as e:
                back = e.code
                time.sleep(0.3)
            except Exception as exc:
                back = type(exc).__name__
                time.sleep(0.3)
        self.down_answers.append(status)
        self.back_answers.append(back)
        return f"; while down: {status}; after: {back}"

    def prepare(self):
        self.down_answers, self.back_answers = [], []
        super().prepare()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    p.add_argument("--pg", default="postgres://dengji:dengji@127.0.0.1")
    p.add_argument("--bin", default="target/release/dengji")
    p.add_argument("--ops", default="import,undo,demo,deadlines")
    p.add_argument("--trials", type=int, default=50)
    p.add_argument("--rows", type=int, default=100000)
    p.add_argument("--seed", type=int, default=2018)
    p.add_argument("--tag", default="", help="prefix of the PostgreSQL databases' names")
    p.add_argument("--work", default=None, help="working directory (default: a temporary one)")
    args = p.parse_args()
    rng = random.Random(args.seed)
    work = args.work or tempfile.mkdtemp(prefix="dengji-crash-")
    os.makedirs(work, exist_ok=True)
    env = Env(args, work)
    ops = {"import": lambda: ImportOp(env, args.rows), "undo": lambda: UndoOp(env, args.rows),
           "demo": lambda: DemoOp(env), "deadlines": lambda: DeadlinesOp(env),
           "firms": lambda: FirmsOp(env), "orgs": lambda: OrgsOp(env),
           "approve": lambda: ApproveOp(env), "accept": lambda: AcceptOp(env),
           "submit": lambda: SubmitOp(env), "pgrestart": lambda: PgRestartOp(env)}
    table = []
    bad = 0
    for key in args.ops.split(","):
        if key == "pgrestart" and args.db != "postgres":
            sys.exit("pgrestart needs --db postgres")
        op = ops[key]()
        op.prepare()
        counts = {"full": 0, "none": 0, "partial": 0, "check": 0}
        print(f"== {key} ({op.label}) on {args.db}: one uninterrupted run takes {op.duration:.1f} s",
              flush=True)
        for t in range(args.trials):
            name = f"ct_trial"
            argv = op.fresh(name)
            # A moment within the run (and a little past its end, where the kill misses).
            wait = rng.uniform(0.0, op.duration * 1.05)
            note = ""
            if isinstance(op, WebOp):
                restart = getattr(op, "restart", None)
                finished, note = op.run_trial(name, wait, restart)
                note = "; " + note
            else:
                proc = env.start(name, *argv)
                time.sleep(wait)
                finished = proc.poll() is not None
                if not finished:
                    proc.send_signal(signal.SIGKILL)
                proc.wait()
            state = op.judge(name)
            check = env.dengji(name, "check", check=False)
            check_ok = check.returncode == 0
            kind = state.split(":")[0]
            counts[kind] += 1
            if not check_ok:
                counts["check"] += 1
            if kind == "partial" or not check_ok:
                bad += 1
                keep = os.path.join(work, f"failed-{key}-{t}")
                print(f"   kept for study: {keep}")
                if args.db == "sqlite":
                    shutil.copyfile(os.path.join(work, name + ".db"), keep + ".db")
            print(f"  trial {t + 1:2}: killed at {wait:6.2f} s{' (had finished)' if finished else ''}"
                  f"{note} -> {state}; check {'ok' if check_ok else 'FAILED: ' + check.stdout[-300:]}",
                  flush=True)
        env.drop("ct_trial")
        table.append((key, op.label, args.trials, counts))
    print()
    print(f"| Operation ({args.db}) | Trials | Fully applied | Not applied | Partial | `check` failures |")
    print("| --- | --- | --- | --- | --- | --- |")
    for key, label, n, c in table:
        print(f"| {label} | {n} | {c['full']} | {c['none']} | {c['partial']} | {c['check']} |")
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
