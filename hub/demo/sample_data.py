"""A realistic demo data set: Chinese and English companies and people, deals in several stages, a sales org.

Loading is idempotent: records are bound to external ids of a ``demo`` connector, so loading again
changes nothing. Everything goes through the store's write path, so the demo has a full audit trail.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select

from hub.core import users as accounts_admin
from hub.core.actor import Context
from hub.core.binding import ExternalRef
from hub.core.models import Role, User
from hub.core.write import BatchResult, Row
from hub.errors import HubError

DEMO_PASSWORD = "demo-password"
STAGES = [
    {"name": "Prospecting", "probability": 10, "outcome": "open"},
    {"name": "Qualification", "probability": 25, "outcome": "open"},
    {"name": "Proposal", "probability": 50, "outcome": "open"},
    {"name": "Negotiation", "probability": 75, "outcome": "open"},
    {"name": "Closed Won", "probability": 100, "outcome": "won"},
    {"name": "Closed Lost", "probability": 0, "outcome": "lost"},
]
CN_SURNAMES = ["王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭"]
CN_GIVEN = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超",
            "秀英"]
CN_PINYIN = {"王": "wang", "李": "li", "张": "zhang", "刘": "liu", "陈": "chen", "杨": "yang", "黄": "huang",
             "赵": "zhao", "吴": "wu", "周": "zhou", "徐": "xu", "孙": "sun", "马": "ma", "朱": "zhu", "胡": "hu",
             "郭": "guo"}
EN_FIRST = ["Emma", "Liam", "Olivia", "Noah", "Ava", "James", "Sophia", "Lucas", "Mia", "Henry", "Anna", "Felix",
            "Clara", "Jonas", "Lea", "Paul", "Grace", "Oliver", "Hannah", "Max"]
EN_LAST = ["Smith", "Johnson", "Brown", "Miller", "Davis", "Wilson", "Taylor", "Clark", "Schmidt", "Müller",
           "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Hoffmann", "Walker", "Young", "King", "Wright"]
CN_CITIES = [("上海", "200000"), ("北京", "100000"), ("深圳", "518000"), ("杭州", "310000"), ("广州", "510000"),
             ("成都", "610000"), ("苏州", "215000"), ("南京", "210000")]
CN_WORDS = ["明华", "华信", "天元", "东方", "远航", "宏达", "瑞丰", "金桥", "新宇", "恒通", "安泰", "博源", "嘉禾",
            "盛世", "中科", "永康"]
CN_TRADES = [("科技", "Technology"), ("贸易", "Wholesale"), ("制造", "Manufacturing"), ("物流", "Logistics"),
             ("医疗器械", "Healthcare"), ("软件", "Software"), ("电子", "Electronics"), ("餐饮", "Hospitality")]
EN_CITIES = [("Berlin", "DE", "10115", "+49 30 {n:07d}"), ("Hamburg", "DE", "20095", "+49 40 {n:07d}"),
             ("London", "GB", "EC1A 1BB", "+44 20 7946 {n:04d}"), ("Boston", "US", "02108", "+1 617 555 {n:04d}"),
             ("Seattle", "US", "98101", "+1 206 555 {n:04d}"), ("Munich", "DE", "80331", "+49 89 {n:07d}")]
EN_WORDS = ["Northwind", "Bluebird", "Summit", "Harbor", "Evergreen", "Redwood", "Silverline", "Ironbridge",
            "Brightwater", "Oakridge", "Stonegate", "Clearview", "Riverside", "Goldcrest", "Westfield", "Kingsway"]
EN_TRADES = [("Analytics", "Software"), ("Logistics", "Logistics"), ("Foods", "Hospitality"),
             ("Devices", "Electronics"), ("Health", "Healthcare"), ("Industries", "Manufacturing"),
             ("Trading", "Wholesale"), ("Systems", "Technology")]
SALES_ORG = [  # username, full name, team, manager, roles
    ("admin", "Hub Administrator", None, None, ()),
    ("chen.jing", "陈静 Chen Jing", "Sales", None, ("sales-manager",)),
    ("wang.fang", "王芳 Wang Fang", "Sales China", "chen.jing", ("sales-manager",)),
    ("li.wei", "李伟 Li Wei", "Sales China", "wang.fang", ("sales-rep",)),
    ("zhang.min", "张敏 Zhang Min", "Sales China", "wang.fang", ("sales-rep",)),
    ("james.miller", "James Miller", "Sales Europe", "chen.jing", ("sales-manager",)),
    ("emma.schmidt", "Emma Schmidt", "Sales Europe", "james.miller", ("sales-rep",)),
    ("olivia.brown", "Olivia Brown", "Support", None, ("support",)),
]
REPS = ["li.wei", "zhang.min", "emma.schmidt", "wang.fang", "james.miller"]


@dataclass
class DemoSummary:
    """What the demo loaded, and how to explore it."""

    counts: dict[str, int] = field(default_factory=dict)
    sample_account: str = ""

    def describe(self, url: str) -> str:
        lines = [f"demo data loaded into {url}:"]
        lines += [f"  {module:10} {n}" for module, n in self.counts.items()]
        lines += [
            "",
            f"users (password: {DEMO_PASSWORD}): " + ", ".join(u for u, *_ in SALES_ORG),
            "",
            "explore it:",
            "  hub records list accounts --where country=CN",
            "  hub records search contacts 王",
            "  hub --as li.wei records list deals          # a sales rep sees only their own deals",
            "  hub --as wang.fang records list deals       # their manager sees the team's",
            "  hub --as olivia.brown records list accounts --fields name,tax_id   # tax_id is hidden from support",
            "  hub export contacts --where country=DE -o contacts.csv",
            f"  hub audit log accounts {self.sample_account}",
            "  hub audit verify",
        ]
        return "\n".join(lines)


def _org(store: Any, ctx: Context) -> None:
    with store.writing(ctx) as tx:
        s, log = tx.session, tx.audit
        if s.scalar(select(User.id).where(User.username == "admin")) is not None:
            return
        for name in ("sales-rep", "sales-manager", "support"):
            if s.scalar(select(Role.id).where(Role.name == name)) is None:
                accounts_admin.create_role(s, log, name)
        for module in ("accounts", "contacts", "deals", "activities"):
            accounts_admin.grant(s, log, "sales-rep", module, ["read", "create", "update", "export"],
                                 "team" if module == "accounts" else "own")
            accounts_admin.grant(s, log, "sales-manager", module, ["read", "create", "update", "delete", "export"],
                                 "subordinates")
        accounts_admin.grant(s, log, "sales-rep", "pipelines", ["read"], "all")
        accounts_admin.grant(s, log, "sales-manager", "pipelines", ["read"], "all")
        accounts_admin.grant(s, log, "support", "tickets", ["read", "create", "update"], "all")
        accounts_admin.grant(s, log, "support", "accounts", ["read"], "all")
        accounts_admin.grant(s, log, "support", "contacts", ["read"], "all")
        accounts_admin.field_rule(s, log, "support", "accounts", "tax_id", "hidden")
        accounts_admin.field_rule(s, log, "support", "contacts", "national_id", "masked")
        accounts_admin.field_rule(s, log, "sales-rep", "contacts", "national_id", "masked")
        accounts_admin.create_user(s, log, "admin", DEMO_PASSWORD, full_name="Hub Administrator", is_admin=True)
        accounts_admin.create_team(s, log, "Sales")
        accounts_admin.create_team(s, log, "Sales China", parent="Sales")
        accounts_admin.create_team(s, log, "Sales Europe", parent="Sales")
        accounts_admin.create_team(s, log, "Support")
        for username, full_name, team, manager, roles in SALES_ORG[1:]:
            accounts_admin.create_user(s, log, username, DEMO_PASSWORD, full_name=full_name, team=team,
                                       manager=manager, roles=roles, email=f"{username}@hub.example")
        for team, manager in (("Sales", "chen.jing"), ("Sales China", "wang.fang"), ("Sales Europe", "james.miller")):
            accounts_admin.team_by_name(s, team).manager_id = accounts_admin.user_by_name(s, manager).id


def _all_in(result: BatchResult) -> BatchResult:
    if result.rejected:
        raise HubError(f"demo data rejected: {result.rejected[0].error}")
    return result


def load(store: Any, accounts: int = 300, seed: int = 7, progress: Callable[[int], None] | None = None
         ) -> DemoSummary:
    """Load the demo org and records (idempotent)."""
    ctx = Context.system("demo")
    _org(store, ctx)
    rnd = random.Random(seed)
    with store.reading(ctx) as tx:
        people = {u.username: (u.id, u.team_id) for u in tx.session.scalars(select(User))}
    ref = lambda module, key: ExternalRef("demo", module, key)  # noqa: E731
    summary = DemoSummary()
    with store.writing(ctx) as tx:
        pipe = tx.upsert("pipelines", {"name": "Standard", "stages": STAGES}, ref=ref("pipelines", "standard"))
    acc_rows, contact_rows, deal_rows, ticket_rows, activity_rows = [], [], [], [], []
    for i in range(accounts):
        owner = REPS[i % len(REPS)] if i % 7 else REPS[(i // 7) % 2]
        owner_id, team_id = people[owner]
        chinese = (i % 2 == 0 and owner in ("li.wei", "zhang.min", "wang.fang")) or i % 5 == 0
        if chinese:
            city, postal = CN_CITIES[i % len(CN_CITIES)]
            trade, industry = CN_TRADES[rnd.randrange(len(CN_TRADES))]
            name = f"{city}{CN_WORDS[rnd.randrange(len(CN_WORDS))]}{trade}有限公司 #{i + 1}"
            country, phone, domain = "CN", f"+86 21 {rnd.randrange(10**7, 10**8)}", f"cn{i + 1}.example.cn"
            tax_id = f"91{rnd.randrange(10**15, 10**16)}X"
        else:
            city, country, postal, phone_fmt = EN_CITIES[i % len(EN_CITIES)]
            word, (trade, industry) = EN_WORDS[rnd.randrange(len(EN_WORDS))], EN_TRADES[rnd.randrange(len(EN_TRADES))]
            name = f"{word} {trade} #{i + 1}"
            phone, domain = phone_fmt.format(n=rnd.randrange(100, 9999)), f"{word.lower()}{i + 1}.example.com"
            tax_id = f"{country}{rnd.randrange(10**8, 10**9)}"
        acc_key = f"acc-{i + 1:04d}"
        acc_rows.append(Row({"name": name, "industry": industry, "city": city, "postal_code": postal,
                             "country": country, "phone": phone, "website": f"https://www.{domain}",
                             "email": f"info@{domain}", "tax_id": tax_id, "currency": "CNY" if chinese else
                             ("USD" if country == "US" else "GBP" if country == "GB" else "EUR"),
                             "credit_limit": str(rnd.choice([5000, 10000, 25000, 50000, 100000])),
                             "account_type": rnd.choice(["customer", "customer", "prospect", "partner"]),
                             "owner_id": owner_id, "team_id": team_id,
                             "tags": rnd.sample(["vip", "key-account", "new", "at-risk", "partner"], rnd.randrange(3))},
                            ref=ref("accounts", acc_key)))
        for j in range(rnd.randrange(1, 4)):
            if chinese:
                sur, given = rnd.choice(CN_SURNAMES), rnd.choice(CN_GIVEN)
                first, last, mail = given, sur, f"{CN_PINYIN[sur]}.{i + 1}.{j}@{domain}"
                mobile = f"+86 13{rnd.randrange(0, 10)} {rnd.randrange(1000, 9999)} {rnd.randrange(1000, 9999)}"
                lang = "zh-CN"
            else:
                first, last = rnd.choice(EN_FIRST), rnd.choice(EN_LAST)
                mail = f"{first.lower()}.{i + 1}.{j}@{domain}"
                mobile, lang = phone, "de" if country == "DE" else "en"
            contact_rows.append((acc_key, Row({"first_name": first, "last_name": last, "email": mail,
                                               "mobile": mobile, "language": lang, "city": city, "country": country,
                                               "job_title": rnd.choice(["CEO", "CFO", "Head of IT", "Buyer",
                                                                        "Sales Director", "采购经理", "IT 主管"]),
                                               "owner_id": owner_id, "team_id": team_id},
                                              ref=ref("contacts", f"con-{i + 1:04d}-{j}"))))
        for k in range(rnd.randrange(0, 3)):
            stage = rnd.choice(STAGES)["name"]
            topic = rnd.choice(["Renewal", "Upgrade", "New licence", "Pilot", "扩容项目"])
            close = date(2026, 12, 1) + timedelta(days=rnd.randrange(-60, 180))
            deal_rows.append((acc_key, Row({"name": f"{name.split(' #')[0]}: {topic}",
                                            "pipeline_id": pipe.id, "stage": stage,
                                            "amount": str(rnd.randrange(20, 500) * 100),
                                            "currency": "CNY" if chinese else "EUR",
                                            "expected_close_date": close.isoformat(),
                                            "owner_id": owner_id, "team_id": team_id},
                                           ref=ref("deals", f"deal-{i + 1:04d}-{k}"))))
        if i % 10 == 0:
            ticket_rows.append((acc_key, Row({"subject": rnd.choice(["Invoice address wrong", "Login fails",
                                                                     "发票抬头错误", "Delivery delayed"]),
                                              "priority": rnd.choice(["low", "normal", "high", "urgent"]),
                                              "status": rnd.choice(["new", "open", "pending"]),
                                              "assignee_id": people["olivia.brown"][0]},
                                             ref=ref("tickets", f"tic-{i + 1:04d}"))))
    with store.writing(ctx) as tx:
        res = _all_in(tx.write_many("accounts", acc_rows))
        acc_ids = {row.ref.key[2]: r.id for row, r in zip(acc_rows, res.results, strict=True) if row.ref}
        summary.sample_account = str(res.results[0].id)
    if progress:
        progress(accounts // 2)

    def linked(rows: list[tuple[str, Row]], field_name: str) -> list[Row]:
        return [Row({**r.data, field_name: acc_ids[key]}, ref=r.ref) for key, r in rows]

    with store.writing(ctx) as tx:
        contacts = linked(contact_rows, "account_id")
        _all_in(tx.write_many("contacts", contacts))
        _all_in(tx.write_many("deals", linked(deal_rows, "account_id")))
        tickets = _all_in(tx.write_many("tickets", linked(ticket_rows, "account_id")))
        for r in tickets.results[:20]:
            activity_rows.append(Row({"kind": "note", "subject": "Customer called about the ticket",
                                      "related_module": "tickets", "related_id": r.id},
                                     ref=ref("activities", f"act-{r.index}")))
        _all_in(tx.write_many("activities", activity_rows))
    if progress:
        progress(accounts - accounts // 2)
    with store.reading(ctx) as tx:
        summary.counts = {m: tx.count(m) for m in ("accounts", "contacts", "deals", "tickets", "activities")}
    return summary
