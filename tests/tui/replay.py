"""A recorded renewal (events of a job on the recorded estate) for the running-renewal snapshot.

Not a test module: test_snapshots.py loads it by path (the suite uses --import-mode=importlib).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from ucterm.events import Event
from ucterm.renewal.events import JobTranscriptLine, StepDone, StepProgress, StepStarted

JOB = "20261127-080000-hq-tomcat-0a1b"
T0 = dt.datetime(2026, 11, 27, 8, 0, tzinfo=dt.UTC)
PUB, SUB1, SUB2 = "cucm-pub.hq.example.com", "cucm-sub1.hq.example.com", "cucm-sub2.hq.example.com"


def _line(node: str, direction: str, text: str, step: str, channel: str = "ssh") -> JobTranscriptLine:
    return JobTranscriptLine(node=node, direction=direction, text=text, channel=channel, job=JOB,  # type: ignore[arg-type]
                             step=step, ts=T0)


def events(plan: Any) -> list[Event]:
    """The first steps done, the identity upload running on the publisher."""
    out: list[Event] = []
    by_kind: dict[str, list[Any]] = {}
    for s in plan.steps:
        by_kind.setdefault(s.kind, []).append(s)
    for step in by_kind["preflight"]:
        out.append(StepStarted(job=JOB, step=step.id, node=step.node, name=step.name, step_kind=step.kind, ts=T0))
        out.append(_line(step.node, "sent", "show version active", step.id))
        out.append(_line(step.node, "received", "Active Master Version: 14.0.1.13900-155", step.id))
        out.append(StepDone(job=JOB, step=step.id, node=step.node, detail="14.0SU3, services STARTED, no CSR",
                            ts=T0))
    done_detail = {"generate_csr": "CSR generated over REST (RSA 2048, 4 SANs)",
                   "save_csr": "csr-cucm-pub.hq.example.com.pem saved",
                   "obtain_signed": "certificate cucm-pub-ms.hq.example.com from the lab CA",
                   "validate": "no findings", "upload_trust": "Example Issuing CA 01 was there already"}
    for kind in ("generate_csr", "save_csr", "obtain_signed", "validate", "upload_trust"):
        for step in by_kind[kind]:
            out.append(StepStarted(job=JOB, step=step.id, node=step.node, name=step.name, step_kind=kind, ts=T0))
            if kind == "generate_csr":
                out.append(_line(PUB, "sent", "POST /platformcom/api/v1/certmgr/config/csr", step.id, "rest"))
                out.append(_line(PUB, "received", "201 Created", step.id, "rest"))
            out.append(StepDone(job=JOB, step=step.id, node=step.node, detail=done_detail[kind], ts=T0))
    upload = by_kind["upload_identity"][0]
    out.append(StepStarted(job=JOB, step=upload.id, node=upload.node, name=upload.name,
                           step_kind=upload.kind, ts=T0))
    out.append(_line(PUB, "sent", "POST /platformcom/api/v1/certmgr/config/identity/certificates", upload.id,
                     "rest"))
    out.append(StepProgress(job=JOB, step=upload.id, node=upload.node,
                            message="uploading the multi-server certificate (every node, through the publisher)",
                            ts=T0))
    out.append(_line(SUB1, "received", "admin:", upload.id))
    out.append(_line(SUB2, "received", "admin:", upload.id))
    return out
