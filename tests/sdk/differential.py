#!/usr/bin/env python3
"""The official SDKs' verdicts on webhook requests, for tests/it/sdk.rs.

Reads one JSON document on standard input, {"cases": [CASE, ...]}, and writes
{"results": [RESULT, ...]} (same order) on standard output. A CASE is

    {"id": str, "provider": str, "op": "verify" | "sign",
     "method": "POST" | "GET", "url": str, "headers": [[name, value], ...],
     "body_b64": str, "secrets": {name: value}, "sign": {...}}

"verify": RESULT is {"id", "ok": bool, "detail": str}: whether the provider's own SDK
accepts the request under the connection's secrets, called as the SDK's documentation shows
(the raw body or the parsed form parameters, the URL the provider requested).

"sign": RESULT is {"id", "ok": true, "headers": [[name, value], ...]}: the signature headers
the SDK computes for the request (`sign` carries the values a signer picks: "now" (Unix
seconds), "nonce", "msg_id", "jti", "algorithm").

Only the SDKs are asked; nothing here reimplements a provider's scheme, except where noted
(Vonage's payload_hash, a check vonage-jwt leaves to the application).
"""

import base64
import hashlib
import json
import sys
import traceback
from datetime import datetime, timezone
from urllib.parse import parse_qsl


class MultiDict(dict):
    """Form parameters as a web framework hands them to an SDK (Flask's MultiDict API)."""

    def getall(self, name):
        return self[name]


def header(case, name):
    for n, v in case["headers"]:
        if n.lower() == name.lower():
            return v
    return None


def body_text(case):
    return base64.b64decode(case["body_b64"]).decode("utf-8")


def form_params(case):
    """The POSTed form (or, for GET, nothing: the parameters are in the URL)."""
    params = MultiDict()
    if case["method"] == "GET":
        return params
    for k, v in parse_qsl(body_text(case), keep_blank_values=True):
        params.setdefault(k, []).append(v)
    return params


def is_form(case):
    ct = (header(case, "content-type") or "").split(";")[0].strip().lower()
    return case["method"] == "GET" or ct == "application/x-www-form-urlencoded"


# ---- verify -------------------------------------------------------------------------------


def verify_twilio(case):
    from twilio.request_validator import (
        RequestValidator,
        get_signature_algorithm,
        HMAC_SHA256,
    )

    signature = header(case, "X-Twilio-Signature")
    if signature is None:
        return False, "no X-Twilio-Signature"
    algorithm = get_signature_algorithm(header(case, "X-Twilio-Webhooks-Signature-Settings"))
    secret = case["secrets"].get("auth_token")
    if algorithm.upper() == HMAC_SHA256:
        secret = case["secrets"].get("shared_key")
        if secret is None:
            return False, "HMAC_SHA256 signature, no shared_key secret"
    params = form_params(case) if is_form(case) else body_text(case)
    ok = RequestValidator(secret).validate(case["url"], params, signature, algorithm)
    return ok, "RequestValidator.validate (%s)" % algorithm


def verify_signalwire(case):
    from signalwire.request_validator import RequestValidator

    validator = RequestValidator(case["secrets"]["signing_key"])
    if is_form(case):
        signature = header(case, "X-SignalWire-Signature") or header(case, "X-Twilio-Signature")
        if signature is None:
            return False, "no signature header"
        return validator.validate(case["url"], form_params(case), signature), "LaML form"
    signature = header(case, "X-SignalWire-Signature")
    if signature is None:
        return False, "no X-SignalWire-Signature"
    return validator.validate(case["url"], body_text(case), signature), "JSON body"


def verify_plivo(case):
    from plivo.utils.signature_v3 import validate_v3_signature

    signature = header(case, "X-Plivo-Signature-V3")
    nonce = header(case, "X-Plivo-Signature-V3-Nonce")
    if signature is None or nonce is None:
        return False, "no V3 signature or nonce"
    params = {k: v for k, v in form_params(case).items()}
    ok = validate_v3_signature(
        case["method"], case["url"], nonce, case["secrets"]["auth_token"], signature, params
    )
    return ok, "validate_v3_signature"


def verify_standard(case):
    from standardwebhooks import Webhook
    from standardwebhooks.webhooks import WebhookVerificationError

    headers = {n: v for n, v in case["headers"]}
    try:
        Webhook(case["secrets"]["secret"]).verify(body_text(case), headers, json_parse=False)
        return True, "Webhook.verify"
    except WebhookVerificationError as e:
        return False, "Webhook.verify: %s" % e


def verify_telnyx(case):
    from telnyx.lib.webhook_verification import (
        verify_webhook_signature,
        WebhookVerificationError,
    )

    headers = {n: v for n, v in case["headers"]}
    try:
        verify_webhook_signature(body_text(case), headers, case["secrets"]["public_key"])
        return True, "verify_webhook_signature"
    except WebhookVerificationError as e:
        return False, "verify_webhook_signature: %s" % e


def verify_vonage(case):
    import jwt
    from vonage_jwt.verify_jwt import verify_signature
    from vonage_jwt.errors import VonageVerifyJwtError

    auth = header(case, "Authorization") or ""
    if not auth.startswith("Bearer "):
        return False, "no Bearer token"
    token = auth[len("Bearer ") :]
    try:
        if not verify_signature(token, case["secrets"]["signature_secret"]):
            return False, "verify_signature: bad signature"
    except VonageVerifyJwtError as e:
        return False, "verify_signature: %s" % e
    # vonage-jwt checks the signature (and, through PyJWT, `exp` and `nbf`); the body's hash
    # is the application's check, as Vonage's signed-webhook guide describes.
    claims = jwt.decode(token, options={"verify_signature": False})
    digest = hashlib.sha256(base64.b64decode(case["body_b64"])).hexdigest()
    if claims.get("payload_hash") != digest:
        return False, "payload_hash differs from the body's SHA-256"
    return True, "verify_signature + payload_hash"


VERIFY = {
    "twilio": verify_twilio,
    "signalwire": verify_signalwire,
    "plivo": verify_plivo,
    "standard": verify_standard,
    "telnyx": verify_telnyx,
    "vonage": verify_vonage,
}


# ---- sign ---------------------------------------------------------------------------------


def sign_twilio(case, opts):
    from twilio.request_validator import RequestValidator

    algorithm = opts.get("algorithm")
    secret = case["secrets"]["shared_key" if algorithm else "auth_token"]
    params = form_params(case) if is_form(case) else {}
    sig = RequestValidator(secret).compute_signature(case["url"], params, algorithm)
    out = [["X-Twilio-Signature", sig]]
    if algorithm:
        out.append(
            ["X-Twilio-Webhooks-Signature-Settings", "key=%s,algorithm=%s" % (opts["key_id"], algorithm)]
        )
    return out


def sign_signalwire(case, opts):
    from signalwire.request_validator import RequestValidator

    validator = RequestValidator(case["secrets"]["signing_key"])
    if is_form(case):
        sig = validator.build_signature_with_compatibility(case["url"], form_params(case))
    else:
        sig = validator.build_signature(case["url"], body_text(case))
    return [["X-SignalWire-Signature", sig]]


def sign_plivo(case, opts):
    from plivo.utils.signature_v3 import construct_get_url, construct_post_url, get_signature_v3

    params = {k: v for k, v in form_params(case).items()}
    if case["method"] == "GET":
        base = construct_get_url(case["url"], params).decode("utf-8")
    else:
        base = construct_post_url(case["url"], params).decode("utf-8")
    token = case["secrets"]["auth_token"].encode("utf-8")
    sig = get_signature_v3(token, base, opts["nonce"].encode("utf-8")).decode("utf-8")
    return [["X-Plivo-Signature-V3", sig], ["X-Plivo-Signature-V3-Nonce", opts["nonce"]]]


def sign_standard(case, opts):
    from standardwebhooks import Webhook

    when = datetime.fromtimestamp(opts["now"], tz=timezone.utc)
    sig = Webhook(case["secrets"]["secret"]).sign(opts["msg_id"], when, body_text(case))
    return [
        ["webhook-id", opts["msg_id"]],
        ["webhook-timestamp", str(opts["now"])],
        ["webhook-signature", sig],
    ]


def sign_vonage(case, opts):
    # vonage-jwt only verifies these tokens; PyJWT, the library it verifies with, encodes one
    # with the claims Vonage's signed webhooks carry.
    import jwt

    claims = {
        "iat": opts["now"],
        "jti": opts["jti"],
        "iss": "Vonage",
        "payload_hash": hashlib.sha256(base64.b64decode(case["body_b64"])).hexdigest(),
    }
    token = jwt.encode(claims, case["secrets"]["signature_secret"], algorithm="HS256")
    return [["Authorization", "Bearer " + token]]


SIGN = {
    "twilio": sign_twilio,
    "signalwire": sign_signalwire,
    "plivo": sign_plivo,
    "standard": sign_standard,
    "vonage": sign_vonage,
}


def run(case):
    try:
        if case["op"] == "verify":
            ok, detail = VERIFY[case["provider"]](case)
            return {"id": case["id"], "ok": bool(ok), "detail": detail}
        headers = SIGN[case["provider"]](case, case.get("sign") or {})
        return {"id": case["id"], "ok": True, "headers": headers}
    except Exception as e:  # an SDK that raises refuses the request
        return {
            "id": case["id"],
            "ok": False,
            "detail": "%s: %s" % (type(e).__name__, e),
            "trace": traceback.format_exc(limit=3) if case["op"] == "sign" else "",
        }


def versions():
    from importlib.metadata import version

    names = ["twilio", "plivo", "standardwebhooks", "telnyx", "pynacl", "vonage-jwt", "pyjwt", "signalwire"]
    return {n: version(n) for n in names}


def main():
    if sys.argv[1:] == ["--versions"]:
        json.dump(versions(), sys.stdout)
        return
    request = json.load(sys.stdin)
    json.dump({"results": [run(c) for c in request["cases"]], "versions": versions()}, sys.stdout)


if __name__ == "__main__":
    main()
