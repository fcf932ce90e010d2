"""Sample specs and a module catalog shared by the mapping tests."""

from __future__ import annotations

CATALOG: dict[str, set[str]] = {
    "accounts": {"name", "legal_name", "email", "phone", "website", "tax_id", "country", "currency",
                 "credit_limit", "status", "industry", "account_type", "tags", "erp_ref", "founded",
                 "created_on"},
    "contacts": {"first_name", "last_name", "email", "phone", "mobile", "account_id", "national_id", "birthday"},
}  # fmt: skip

EXAMPLE = """
mapping: erp_partner_to_account
source: {connector: odoo, stream: res.partner}
target: {module: accounts}
filter: "is_company and active"
tables:
  countries: {DE: DE, Germany: DE, CN: CN, China: CN}
fields:
  name:         {from: name, transform: [strip]}
  email:        {from: email, transform: [strip, lower, email]}
  phone:        {from: [mobile, phone], transform: [coalesce, {phone: {region: CN}}]}
  country:      {from: country_id.code, lookup: {table: countries, on_miss: error}}
  credit_limit: {from: credit_limit, transform: [{decimal: {thousands: ",", point: "."}}]}
  created_on:   {from: create_date, transform: [{datetime: {formats: ["%d.%m.%Y %H:%M"], tz: Asia/Shanghai}}]}
  status:       {from: state, lookup: {table: {A: active, I: inactive, B: blocked}, default: active}}
  erp_ref:      {from: ref, only_create: true}
  tax_id:       {from: vat, transform: [strip, upper]}
match: [binding, {field: tax_id}, {field: email, normalize: lower}]
conflict: {default: newest, fields: {email: hub, credit_limit: source}}
tests:
  - name: a company
    input:  {name: " Acme GmbH ", email: "INFO@ACME.DE", is_company: true, active: true, state: A}
    expect: {name: "Acme GmbH", email: "info@acme.de", status: active}
  - name: a person is skipped
    input: {name: Bob, is_company: false, active: true}
    skipped: true
"""
