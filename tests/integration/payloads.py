# SPDX-License-Identifier: MIT
"""
Sample notification bodies in the shapes of DOMAIN.md. Builders take the ids as
arguments so each test can use its own; the constants are the canonical examples.
"""

import copy
import itertools

_seq = itertools.count(1)


def uid(prefix="id"):
    """A process-unique id, so dedup never links two tests or two requests."""
    return f"{prefix}-{next(_seq):06d}"


def duitnow(e2e="E2E-1", code="ACSC", substate="CLEARED", checkout="c1", **extra):
    """DuitNow Pay "update payment status" (camelCase)."""
    body = {
        "checkoutId": checkout,
        "endToEndId": e2e,
        "paymentStatus": {"code": code, "substate": substate, "message": "ok"},
        "issuer": "BANKX",
        "paymentMethod": "DuitNowOBW",
    }
    body.update(extra)
    return body


def gateway_charge(evt="evt_1", charge="ch_1"):
    return {"id": evt, "type": "charge.succeeded",
            "data": {"object": {"id": charge, "status": "succeeded", "amount": 12550}}}


def gateway_token(evt="evt_t1", token="tok_1"):
    return {"id": evt, "event_type": "token.suspended",
            "data": {"token_id": token, "status": "SUSPENDED"}}


MDES_TUR = "DWSPMC000000000132d72d4fcb2f4136a0532d3093ff1a45"


def mdes_token(request_id="r1", tur=MDES_TUR, status="SUSPENDED"):
    """MDES-style token status inside a wrapper object."""
    return {"requestId": request_id,
            "notification": {"tokens": [{
                "tokenUniqueReference": tur,
                "status": status,
                "suspendedBy": ["TOKEN_REQUESTOR"],
                "statusTimestamp": "2026-11-26T10:00:00Z"}]}}


def mdes_card_metadata(request_id="r2", tur="DWSPMC0000000001"):
    return {"requestId": request_id,
            "tokens": [{"tokenUniqueReference": tur,
                        "productConfig": {"brandLogoAssetId": "x"}}]}


def card_metadata_explicit(event_id="cm-1", card="c9"):
    return {"eventType": "CardMetadataChanged", "eventId": event_id, "data": {"card_id": card}}


def vts_token(token="v1", notification="n1"):
    """VTS-style: nearly empty; the event type is in the query string."""
    return {"vProvisionedTokenID": token, "vNotificationID": notification}


VTS_QUERY = "?eventType=TOKEN_STATUS_UPDATED"


def unclassified(marker="world"):
    return {"hello": marker}


def copy_of(body):
    return copy.deepcopy(body)
