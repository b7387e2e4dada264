"""Deadline week against `dengji serve` (issue 20): a mix of the people who use it at once.

Every simulated user signs in with a session of their own (distinct accounts per role from
`dengji bench --load-accounts`, see ACCOUNTS below, or else the demo's one account per role:
a member, a firm's clerk and reviewer, a city and a province clerk, the national
administrator) and works with 1-5 s of thought between steps:

- members open their own form, save it again (a draft save is a write) and submit it;
- firm clerks list and search their members, open forms, save drafts for members (代填);
- firm reviewers open the review queue, return one submitted form with a reason, approve one;
- city clerks watch the cockpit (its pages) and the city 附件6;
- province clerks read 附件4 and 附件5, the member list page by page and by surname;
- the national administrator reads the national 附件6, the national search, and now and
  then downloads a city's 附件4 as .xlsx.

Run (see BENCHMARKS.md "Issue 20"): start `dengji serve` on a national demo database, then

    locust -f scripts/load/locustfile.py --headless -u 200 -r 10 -t 10m \
        --host http://127.0.0.1:8080 --csv load

Requests are named by kind (`[read] …`, `[write] …`) so the CSV files (load_stats.csv …) give p50/p95/p99 per kind.
Install: `pip install locust==2.47.0`.
"""

import itertools
import json
import os
import random
import re
from html.parser import HTMLParser

from locust import HttpUser, between, task

PASSWORD = "Dengji2018"

# Distinct people: `dengji bench --load-accounts N --load-accounts-file F` makes N accounts per
# role and lists them; DENGJI_LOAD_ACCOUNTS=F hands them out in turn (each simulated user
# takes the next account of its role). Without it every user of a role shares the demo account.
ACCOUNTS = {}
if os.environ.get("DENGJI_LOAD_ACCOUNTS"):
    with open(os.environ["DENGJI_LOAD_ACCOUNTS"], encoding="utf-8") as f:
        listed = json.load(f)
    # DENGJI_LOAD_SHARD=i/n: this locust process is one of n (one per server) and takes every
    # n-th account from the i-th, so no two processes sign in as the same person.
    i, n = (int(x) for x in os.environ.get("DENGJI_LOAD_SHARD", "0/1").split("/"))
    ACCOUNTS = {
        role: itertools.cycle(names[i::n] or names) for role, names in listed["accounts"].items()
    }
    ACCOUNTS_PASSWORD = listed["password"]
SURNAMES = ["王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴"]


class FormFields(HTMLParser):
    """The fields of one form (by its id) as a browser would send them."""

    def __init__(self, form_id):
        super().__init__()
        self.form_id = form_id
        self.inside = False
        self.fields = []
        self.select = None
        self.select_value = None
        self.textarea = None
        self.text = ""

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.inside = a.get("id") == self.form_id
        if not self.inside:
            return
        if tag == "input" and a.get("name"):
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            if kind in ("submit", "button", "file"):
                return
            self.fields.append((a["name"], a.get("value", "")))
        elif tag == "select" and a.get("name"):
            self.select = a["name"]
            self.select_value = None
        elif tag == "option" and self.select is not None:
            if self.select_value is None or "selected" in a:
                self.select_value = a.get("value", "")
        elif tag == "textarea" and a.get("name"):
            self.textarea = a["name"]
            self.text = ""

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        if tag == "select" and self.select is not None:
            self.fields.append((self.select, self.select_value or ""))
            self.select = None
        if tag == "textarea" and self.textarea is not None:
            self.fields.append((self.textarea, self.text))
            self.textarea = None

    def handle_data(self, data):
        if self.textarea is not None:
            self.text += data


def form_of(html, form_id):
    p = FormFields(form_id)
    p.feed(html)
    return p.fields


def ids(html, pattern=r'href="/members/(\d+)"'):
    return sorted(set(int(x) for x in re.findall(pattern, html)))


class Person(HttpUser):
    abstract = True
    wait_time = between(1, 5)
    username = None
    role = None

    def on_start(self):
        password = PASSWORD
        if self.role in ACCOUNTS:
            self.username = next(ACCOUNTS[self.role])
            password = ACCOUNTS_PASSWORD
        r = self.client.post(
            "/login",
            data={"username": self.username, "password": password},
            name="[write] sign in",
            allow_redirects=False,
        )
        if r.status_code not in (302, 303):
            raise RuntimeError(f"{self.username}: sign-in answered {r.status_code}")
        home = self.client.get("/", name="[read] home").text
        m = re.search(r'href="/orgs/(\d+)"', home)
        self.org = int(m.group(1)) if m else 1
        self.csrf = csrf_of(home)

    def get(self, path, name):
        r = self.client.get(path, name=name)
        token = csrf_of(r.text)
        if token:
            self.csrf = token
        return r

    def save_form(self, member, name, step="save"):
        page = self.get(f"/members/{member}/registration", "[read] open a form")
        fields = form_of(page.text, "registration-form")
        if not fields:
            return
        fields = [(k, v) for k, v in fields if k not in ("confirm",)]
        if step == "submit":
            # 本人承诺: the member confirms what they submit.
            fields.append(("confirm", "1"))
        fields.append(("step", step))
        with self.client.post(
            f"/members/{member}/registration",
            data=fields,
            name=name,
            allow_redirects=False,
            catch_response=True,
        ) as r:
            # 303: saved; 422: the form has findings to correct (what a person would see);
            # 409: someone else saved it first, or it is with a reviewer.
            if r.status_code in (302, 303, 409, 422):
                r.success()


def csrf_of(html):
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    return m.group(1) if m else None


class Member(Person):
    weight = 6
    username = "dangyuan"
    role = "member"

    def on_start(self):
        super().on_start()
        home = self.get("/", "[read] home").text
        found = ids(home)
        self.me = found[0] if found else None

    @task(3)
    def own_record(self):
        if self.me:
            self.get(f"/members/{self.me}", "[read] member page")

    @task(1)
    def save_own_form(self):
        if self.me:
            self.save_form(self.me, "[write] save a form")

    @task(1)
    def submit_own_form(self):
        # A submitted form goes to the firm's reviewers (a returned one comes back here).
        if self.me:
            self.save_form(self.me, "[write] submit a form", step="submit")


class FirmClerk(Person):
    weight = 6
    username = "suo"
    role = "firm_clerk"

    @task(3)
    def members(self):
        self.members_seen = ids(self.get("/members", "[read] member list").text)

    @task(2)
    def search(self):
        self.get(f"/members?name={random.choice(SURNAMES)}", "[read] member search")

    @task(2)
    def save_for_a_member(self):
        seen = getattr(self, "members_seen", None) or ids(
            self.get("/members", "[read] member list").text
        )
        if seen:
            self.save_form(random.choice(seen), "[write] save a form")


class FirmReviewer(Person):
    weight = 3
    username = "suo_shenhe"
    role = "firm_reviewer"

    @task(3)
    def queue(self):
        self.get(f"/orgs/{self.org}/reviews", "[read] review queue")

    def waiting(self):
        queue = self.get(f"/orgs/{self.org}/reviews", "[read] review queue").text
        return ids(queue, r'href="/members/(\d+)/registration')

    @task(1)
    def return_one(self):
        waiting = self.waiting()
        if not waiting:
            return
        member = random.choice(waiting)
        page = self.get(f"/members/{member}/registration", "[read] open a form").text
        reasons = re.findall(r'<option value="([A-Za-z0-9_-]+)">', page)
        with self.client.post(
            f"/members/{member}/return",
            data={"csrf": self.csrf, "reason": reasons[0] if reasons else "", "note": "请核对入党日期"},
            name="[write] return a form",
            allow_redirects=False,
            catch_response=True,
        ) as r:
            if r.status_code in (302, 303, 409):
                r.success()

    @task(1)
    def approve_one(self):
        waiting = self.waiting()
        if not waiting:
            return
        with self.client.post(
            f"/members/{random.choice(waiting)}/approve",
            data={"csrf": self.csrf},
            name="[write] approve a form",
            allow_redirects=False,
            catch_response=True,
        ) as r:
            if r.status_code in (302, 303, 409):
                r.success()


class CityClerk(Person):
    weight = 3
    username = "shi"
    role = "city_clerk"

    @task(4)
    def cockpit(self):
        self.get(f"/orgs/{self.org}/cockpit", "[read] cockpit")

    @task(1)
    def cockpit_page(self):
        self.get(f"/orgs/{self.org}/cockpit?page={random.randint(2, 7)}", "[read] cockpit")

    @task(2)
    def a6(self):
        self.get(f"/orgs/{self.org}/summary/a6", "[read] 附件6")

    @task(1)
    def org_page(self):
        self.get(f"/orgs/{self.org}", "[read] organisation page")


class ProvinceClerk(Person):
    weight = 2
    username = "sheng"
    role = "province_clerk"

    @task(3)
    def a4(self):
        self.get(f"/orgs/{self.org}/summary/a4", "[read] 附件4")

    @task(1)
    def a5(self):
        self.get(f"/orgs/{self.org}/summary/a5", "[read] 附件5")

    @task(3)
    def member_pages(self):
        self.get(f"/members?page={random.randint(1, 50)}", "[read] member list")

    @task(2)
    def search(self):
        self.get(f"/members?name={random.choice(SURNAMES)}", "[read] member search")


class National(Person):
    weight = 1
    username = "admin"

    @task(3)
    def a6(self):
        self.get("/orgs/1/summary/a6", "[read] 附件6")

    @task(3)
    def search(self):
        self.get(f"/members?name={random.choice(SURNAMES)}", "[read] member search")

    @task(1)
    def export(self):
        r = self.get("/", "[read] home")
        provinces = ids(r.text, r'href="/orgs/(\d+)"')
        if provinces:
            # The workbook's bytes, not decoded as text (Python decoding 12 MB as text would
            # cost the load generator more than the server spends making it).
            self.client.get(
                f"/orgs/{random.choice(provinces)}/summary/a4/export",
                name="[read] export 附件4 (.xlsx)",
            ).content
