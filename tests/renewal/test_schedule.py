"""Which steps may run side by side (pure: plans from the static estate, no lab)."""

from __future__ import annotations

import itertools
from dataclasses import replace

import pytest

from ucterm.inventory import Inventory
from ucterm.renewal import build_plan, defaults_for
from ucterm.renewal.model import Plan
from ucterm.renewal.schedule import restart_phase, schedule_for


def _plan(inventory: Inventory, cluster: str, unit: str, multi: bool = False, **options: object) -> Plan:
    return build_plan(inventory, None, replace(defaults_for(inventory, None, cluster, unit, multi), **options))


CASES = [("hq", "tomcat", False), ("hq", "tomcat", True), ("branch", "CallManager", False),
         ("presence", "cup", False), ("presence", "cup-xmpp", True), ("voicemail", "tomcat", False),
         ("hq", "ITLRecovery", False)]


@pytest.mark.parametrize(("cluster", "unit", "multi"), CASES)
def test_the_plan_order_is_one_order_the_schedule_allows(inventory: Inventory, cluster: str, unit: str,
                                                         multi: bool) -> None:
    """Every step waits only for steps before it in the plan: running the plan one step after another is
    still right, and the schedule can never wait for a step that waits for it."""
    plan = _plan(inventory, cluster, unit, multi)
    schedule = schedule_for(plan)
    seen: set[str] = set()
    for step in plan.steps:
        assert schedule.after[step.id] <= seen, step.id
        seen.add(step.id)


@pytest.mark.parametrize(("cluster", "unit", "multi"), CASES)
def test_cisco_order_is_kept(inventory: Inventory, cluster: str, unit: str, multi: bool) -> None:
    plan = _plan(inventory, cluster, unit, multi)
    after = schedule_for(plan).after
    preflights = {s.id for s in plan.steps_of("preflight")}
    changes = [s for s in plan.steps if s.kind in ("generate_csr", "upload_trust", "upload_identity", "ha_disable",
                                                   "restart", "ha_enable")]

    def waits_for(step_id: str) -> set[str]:  # transitively
        out: set[str] = set()
        todo = list(after[step_id])
        while todo:
            sid = todo.pop()
            if sid not in out:
                out.add(sid)
                todo += after[sid]
        return out

    assert all(not after[p] for p in preflights)
    for change in changes:  # every node is read before anything changes
        assert preflights <= waits_for(change.id), change.id
    restarts = plan.steps_of("restart")
    if restarts:  # (ITLRecovery restarts nothing, §3.1)
        assert restarts[0].node == plan.nodes[0]  # the publisher first
    for earlier, later in itertools.pairwise(restarts):  # one node at a time, in plan order
        assert earlier.id in after[later.id]
    uploads = {s.id for s in plan.steps_of("upload_identity")}
    validations = {s.id for s in plan.steps_of("validate")}
    for s in plan.steps_of("upload_trust"):  # every certificate valid before any upload
        assert validations <= waits_for(s.id)
    for s in restart_phase(plan):  # every upload before the restart phase
        assert uploads <= waits_for(s.id)
    for s in plan.steps_of("obtain_signed"):  # every CSR saved before any certificate is asked for
        assert {x.id for x in plan.steps_of("save_csr")} <= after[s.id]
    for s in plan.steps_of("verify"):  # verified after the last restart (and HA on again)
        assert {x.id for x in restart_phase(plan)} <= waits_for(s.id)


def test_steps_on_different_nodes_do_not_wait_for_each_other(inventory: Inventory) -> None:
    plan = _plan(inventory, "hq", "tomcat")
    after = schedule_for(plan).after
    pub, sub1, sub2 = plan.nodes
    assert not after[f"preflight:{sub2}"]
    assert after[f"generate_csr:{sub1}"] == {f"preflight:{n}" for n in plan.nodes}
    assert after[f"upload_identity:{sub2}"] == {f"upload_trust:{sub2}"}
    assert f"upload_identity:{pub}" not in after[f"upload_trust:{sub2}"]


def test_a_step_holds_its_node_and_the_node_its_requests_go_to(inventory: Inventory) -> None:
    plan = _plan(inventory, "presence", "cup")
    holds = schedule_for(plan).holds
    ha = plan.steps_of("ha_disable")[0]
    assert ha.via_node and holds[ha.id] == {ha.node.lower(), ha.via_node.lower()}  # type: ignore[union-attr]
    assert all(holds[s.id] == {(s.node or "").lower()} for s in plan.steps_of("preflight"))
