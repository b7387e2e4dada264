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

Usage (release build recommended):
  scripts/crash-trials.py --db sqlite --ops import,undo,demo,deadlines --trials 50
  scripts/crash-trials.py --db postgres --pg postgres://dengji:dengji@127.0.0.1 --trials 50

Prints one line per trial and a table (trials, fully applied, not applied, partial, check
failures) for BENCHMARKS.md. Exit status 1 when any trial left a partial write or a failed
check.
"""

import argparse
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
        return f"{self.args.pg}/{name}"

    def psql(self, sql, db="postgres"):
        out = subprocess.run(
            ["psql", "-qtAX", f"{self.args.pg}/{db}", "-c", sql],
            capture_output=True, text=True, check=True)
        return out.stdout.strip()

    def drop(self, name):
        if self.args.db == "sqlite":
            for s in ("", "-wal", "-shm"):
                p = os.path.join(self.work, name + ".db" + s)
                if os.path.exists(p):
                    os.remove(p)
        else:
            self.psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def clone(self, base, name):
        self.drop(name)
        if self.args.db == "sqlite":
            shutil.copyfile(os.path.join(self.work, base + ".db"),
                            os.path.join(self.work, name + ".db"))
        else:
            self.psql(f'CREATE DATABASE "{name}" TEMPLATE "{base}"')

    def empty(self, name):
        self.drop(name)
        if self.args.db == "postgres":
            self.psql(f'CREATE DATABASE "{name}"')

    def query(self, name, sql):
        """One value of a query on database `name`."""
        if self.args.db == "sqlite":
            c = sqlite3.connect(os.path.join(self.work, name + ".db"))
            try:
                return c.execute(sql).fetchone()[0]
            finally:
                c.close()
        return self.psql(sql, db=name)

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


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    p.add_argument("--pg", default="postgres://dengji:dengji@127.0.0.1")
    p.add_argument("--bin", default="target/release/dengji")
    p.add_argument("--ops", default="import,undo,demo,deadlines")
    p.add_argument("--trials", type=int, default=50)
    p.add_argument("--rows", type=int, default=100000)
    p.add_argument("--seed", type=int, default=2018)
    p.add_argument("--work", default=None, help="working directory (default: a temporary one)")
    args = p.parse_args()
    rng = random.Random(args.seed)
    work = args.work or tempfile.mkdtemp(prefix="dengji-crash-")
    os.makedirs(work, exist_ok=True)
    env = Env(args, work)
    ops = {"import": lambda: ImportOp(env, args.rows), "undo": lambda: UndoOp(env, args.rows),
           "demo": lambda: DemoOp(env), "deadlines": lambda: DeadlinesOp(env)}
    table = []
    bad = 0
    for key in args.ops.split(","):
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
                  f" -> {state}; check {'ok' if check_ok else 'FAILED: ' + check.stdout[-300:]}",
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
