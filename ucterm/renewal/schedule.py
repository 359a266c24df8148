"""Which steps of a plan may run side by side: the order Cisco requires, and nothing more. Pure.

A plan lists its steps in the order a person would do them one after another (procedure.md).
Most of that order is only the order of a list: the preflight of a subscriber does not need the
publisher's, and the CSR of one node does not wait for the CSR of another. What must stay in
order, and why:

- **Every node is read before anything changes** (the preflight checks the plan still fits the
  release each node runs; the resume check reads every node again): each change waits for every
  preflight.
- **One certificate's life is a chain**: generate its CSR, save it, obtain the certificate,
  validate it, upload the CA chain, then the identity (§5.4: the chain before the leaf).
- **Every CSR is saved before any certificate is asked for**, so that a person carrying files
  sends them all to the CA at once, and a signer that waits for an approval has them all.
- **Every certificate is valid before any upload**: one certificate the CA got wrong must not
  leave a cluster half renewed.
- **Restarts come after every upload and run one node at a time, publisher first** (§3
  [VERIFIED: S-217138]): each restart waits for the one before it, in plan order; IM&P High
  Availability is off for all of them (§3.4) and on again after the last.
- **Nodes are verified after the last restart** (and after HA is on again where the plan toggles
  it). The verifications of all nodes then run side by side; running them under the restarts
  would save little (the last node's verification follows the last restart either way) and would
  put another step beside a restart, whose command a kill -9 can cut between its sending and the
  node's answer: the one side effect a resume cannot always reconcile without repeating it.

A step also holds its node (and the node its requests go to) while it runs: a VOS node has one
interactive shell per session, so steps on the same node run one at a time, and the transcript
lines a node sends belong to exactly one step.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ucterm.renewal.model import Plan, Step

__all__ = ["Schedule", "restart_phase", "schedule_for"]

#: Steps that belong to the restart phase: from HA off to HA on again (the maintenance window gates
#: it, and two jobs never run it on the same cluster at once).
RESTART_PHASE_KINDS = frozenset({"ha_disable", "restart", "ha_enable"})


@dataclass(frozen=True)
class Schedule:
    """The steps each step waits for (`after`) and the nodes it holds while it runs (`holds`)."""

    after: Mapping[str, frozenset[str]]
    holds: Mapping[str, frozenset[str]]

    def ready(self, step_id: str, finished: Iterable[str]) -> bool:
        """Whether every step `step_id` waits for is in `finished` (done or skipped)."""
        return self.after[step_id] <= frozenset(finished)


def _ids(steps: Iterable[Step]) -> frozenset[str]:
    return frozenset(s.id for s in steps)


def schedule_for(plan: Plan) -> Schedule:
    """The dependencies of `plan`'s steps (see the module docstring)."""
    steps = plan.steps
    preflights = _ids(plan.steps_of("preflight"))
    saves = _ids(plan.steps_of("save_csr"))
    validations = _ids(plan.steps_of("validate"))
    identities = _ids(plan.steps_of("upload_identity"))
    ha_off = _ids(plan.steps_of("ha_disable"))
    ha_on = _ids(plan.steps_of("ha_enable"))
    restarts = plan.steps_of("restart")
    after: dict[str, frozenset[str]] = {}
    for s in steps:
        csr_node = s.csr_node or s.node
        if s.kind == "preflight":
            deps: frozenset[str] = frozenset()
        elif s.kind == "generate_csr":
            deps = preflights
        elif s.kind == "save_csr":
            deps = frozenset({f"generate_csr:{csr_node}"})
        elif s.kind == "obtain_signed":
            deps = saves
        elif s.kind == "validate":
            deps = frozenset({f"obtain_signed:{csr_node}"})
        elif s.kind == "upload_trust":
            deps = validations
        elif s.kind == "upload_identity":
            deps = frozenset({f"upload_trust:{csr_node}"})
        elif s.kind == "ha_disable":
            deps = identities | preflights
        elif s.kind == "restart":
            index = restarts.index(s)
            deps = identities | preflights | ha_off | (
                frozenset({restarts[index - 1].id}) if index else frozenset())
        elif s.kind == "ha_enable":
            deps = _ids(restarts) | ha_off | identities
        else:  # verify
            deps = ha_on | ha_off | _ids(restarts) | identities
        after[s.id] = deps & _ids(steps)
    holds = {s.id: frozenset(n.lower() for n in (s.node, s.via_node) if n) for s in steps}
    return Schedule(after, holds)


def restart_phase(plan: Plan) -> tuple[Step, ...]:
    """The steps from HA off to HA on again, in plan order (empty when the plan restarts nothing)."""
    return tuple(s for s in plan.steps if s.kind in RESTART_PHASE_KINDS)
