"""The standalone test broker the demo starts as a subprocess."""

from __future__ import annotations

import subprocess
import sys

import httpx

from biblogin.integrations.mitid_broker.client import MitIDClient, MitIDConfig


def test_standalone_broker_serves_the_demo_persons_until_terminated():
    redirect_uri = "http://localhost:8000/login/mitid/callback"
    process = subprocess.Popen(
        [
            sys.executable, "-m", "biblogin.integrations.mitid_broker.testbroker",
            "--port", "0", "--client-id", "demo-rp", "--client-secret", "demo-secret",
            "--redirect-uri", redirect_uri, "--cpr-claim", "cprNumberIdentifier",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        line = process.stdout.readline()
        assert line.startswith("MitID test broker ready: http://127.0.0.1:"), line
        issuer = line.split()[4]
        client = MitIDClient(
            MitIDConfig(
                issuer=issuer,
                client_id="demo-rp",
                client_secret="demo-secret",
                cpr_claim="cprNumberIdentifier",
            ),
            http=httpx.Client(),
        )
        url, kept = client.authorization_start(redirect_uri=redirect_uri)
        with httpx.Client() as browser:
            answer = browser.post(url, data={"sub": "henrik"})
        params = dict(httpx.URL(answer.headers["location"]).params)
        identity = client.authorization_finish(params=params, kept=kept)
        assert (identity.cpr, identity.name) == ("1212901242", "Henrik Holm")
    finally:
        process.terminate()
        _out, err = process.communicate(timeout=10)
    assert process.returncode == 0
    assert "1212901242" not in err
