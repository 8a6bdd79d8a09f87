"""The short guide the demo prints: where to go, who to be, how to log in."""

from __future__ import annotations

from biblogin.demo.services import demo_data


def demo_guide(*, base_url: str, broker_port: int, sip2_address: str | None = None) -> str:
    """Return the guide for a demo served at ``base_url``."""
    data = demo_data()
    agencies = {a["agency_id"]: a["name"] for a in data["agencies"]}
    lines = [
        "",
        "biblogin demo is running.",
        "",
        f"  Bibliotek.dk (portal)        {base_url}/",
        f"  Login platform (OIDC)        {base_url}/login/.well-known/openid-configuration",
        f"  Admin (VIP, CULR, clients)   {base_url}/admin/",
        f"  Test MitID broker            http://127.0.0.1:{broker_port}/",
        "",
        "Demo persons (fictional) — library login: choose the library, type user ID and PIN;",
        "MitID: press 'Log ind med MitID' and, at the test broker, type the MitID name as subject.",
        "",
    ]
    for person in data["persons"]:
        regs = []
        for reg in person["registrations"]:
            user_id = (reg.get("borrower_numbers") or reg.get("emails") or ["CPR"])[0]
            if reg.get("cpr") and user_id != "CPR":
                user_id = f"CPR or {user_id}"
            pin = f"PIN {reg['pin']}" if reg["pin"] else "no PIN"
            note = " (blocked)" if reg.get("blocked") else ""
            regs.append(f"{agencies[reg['agency_id']]} {reg['agency_id']}: {user_id}, {pin}{note}")
        mitid = f"MitID '{person['mitid']}'" if person["mitid"] else "no MitID"
        lines.append(f"  {person['name']:<18} CPR {person['cpr']}  {mitid}")
        for reg_text in regs or ["no library"]:
            lines.append(f"      {reg_text}")
    if sip2_address:
        from biblogin.demo.sip2 import DEMO_SIP2_AGENCY, DEMO_SIP2_INSTITUTION

        lines += [
            "",
            f"{agencies[DEMO_SIP2_AGENCY]} {DEMO_SIP2_AGENCY} is reached over SIP2: a test SIP2 "
            f"server (pysip2) on {sip2_address},",
            f"institution ID {DEMO_SIP2_INSTITUTION}, serves its simulated data; log in there as "
            "above. Admin: 'SIP2-forbindelser'.",
        ]
    lines += ["", "Staff accounts in the admin:"]
    for staff in data["staff"]:
        scope = "superuser" if staff.get("superuser") else f"bound to {staff['agency_id']}"
        lines.append(f"  {staff['username']} / {staff['password']}  ({scope})")
    lines += [
        "",
        "OIDC clients: 'bibliotek-dk' (the portal) and 'demo-app' (public, PKCE,",
        "redirect URI http://127.0.0.1:8765/callback).",
        "Stop with Ctrl-C.",
        "",
    ]
    return "\n".join(lines)
