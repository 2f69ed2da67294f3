"""The fake instance behind SSM Run Command: the inside-health command gets
the stack's Docker states (moto answers empty output), settable through
/strict-api/instance; unreachable agents refuse SendCommand."""

import datetime
import json
import urllib.error
import urllib.request

import pytest

from helpers import SETTLE, default_vpc, group, launch

TAG = "# geusemaker:inside-health"
SERVICES = ["postgres", "n8n", "ollama", "qdrant", "crawl4ai"]


def control(emu, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"{emu.url}/strict-api/instance", data=data,
                                     method="GET" if body is None else "POST")
    with urllib.request.urlopen(request) as answer:
        return json.loads(answer.read())


def instances(emu, count=1, name="inst"):
    vpc, subnets = default_vpc(emu)
    sg = group(emu, name, vpc)
    emu.advance(SETTLE)
    ids = [launch(emu, [sg], subnets[0]["SubnetId"]) for _ in range(count)]
    emu.advance(SETTLE)
    return ids


def send(emu, instance, commands=None, document="AWS-RunShellScript"):
    ssm = emu.client("ssm")
    commands = commands or [f"{TAG}\nbash /opt/geusemaker/inside-health.sh"]
    command = ssm.send_command(InstanceIds=[instance], DocumentName=document,
                               Parameters={"commands": commands})["Command"]["CommandId"]
    return ssm.get_command_invocation(CommandId=command, InstanceId=instance), command


def read(emu, instance):
    """One inside-health read: {service: docker state}."""
    got, _ = send(emu, instance)
    assert got["Status"] == "Success"
    states = {}
    for line in got["StandardOutputContent"].splitlines():
        name, text = line.split("\t", 1)
        states[name] = json.loads(text)
    return states


def docker_time(text):
    head, frac = text.rstrip("Z").split(".")
    assert len(frac) == 9, f"nanoseconds: {text}"
    return datetime.datetime.fromisoformat(head).replace(
        microsecond=int(frac[:6]), tzinfo=datetime.timezone.utc)


def probe_ms(state):
    last = state["Health"]["Log"][-1]
    return round((docker_time(last["End"]) - docker_time(last["Start"])).total_seconds() * 1000)


def test_moto_answers_the_inside_health_command_with_nothing(emulator):
    emulator.reset(strict=False)
    (instance,) = instances(emulator)
    got, _ = send(emulator, instance)
    assert got["Status"] == "Success" and got["StandardOutputContent"] == ""


def test_by_default_the_five_services_run_healthy_since_launch(emulator):
    emulator.reset(strict=True)
    (instance,) = instances(emulator)
    launched = emulator.client("ec2").describe_instances(InstanceIds=[instance])[
        "Reservations"][0]["Instances"][0]["LaunchTime"]
    states = read(emulator, instance)
    assert list(states) == SERVICES
    for name, state in states.items():
        assert state["Status"] == "running" and state["Running"] is True
        assert state["Health"]["Status"] == "healthy"
        assert state["Health"]["FailingStreak"] == 0
        assert state["FinishedAt"] == "0001-01-01T00:00:00Z"
        assert abs((docker_time(state["StartedAt"]) - launched).total_seconds()) < 1
    assert {n: probe_ms(s) for n, s in states.items()} == {
        "postgres": 8, "n8n": 25, "ollama": 12, "qdrant": 6, "crawl4ai": 30}


def test_unhealthy_reads_count_down_then_the_service_is_healthy(emulator):
    emulator.reset(strict=True)
    (instance,) = instances(emulator)
    control(emulator, {"instance": "*", "services": {"n8n": {"unhealthy_reads": 2,
                                                            "probe_ms": 40}}})
    first, second, third = (read(emulator, instance)["n8n"] for _ in range(3))
    assert first["Health"]["Status"] == second["Health"]["Status"] == "unhealthy"
    assert (first["Health"]["FailingStreak"], second["Health"]["FailingStreak"]) == (3, 4)
    assert first["Health"]["Log"][-1]["ExitCode"] == 1
    assert probe_ms(first) == 40
    assert third["Health"]["Status"] == "healthy" and third["Health"]["FailingStreak"] == 0
    answer = control(emulator)
    assert answer["reads"] == {instance: 3}
    assert answer["instances"]["*"]["unhealthy_reads"] == {"n8n": 0}


def test_star_applies_to_instances_without_their_own_even_later_ones(emulator):
    emulator.reset(strict=True)
    control(emulator, {"instance": "*", "services": {"n8n": {"status": "exited"}}})
    first, own = instances(emulator, 2)
    control(emulator, {"instance": own, "services": {
        "ollama": {"status": "restarting"}, "qdrant": {"health": None},
        "crawl4ai": {"status": "missing"}}})
    (later,) = instances(emulator, name="later")

    for instance in (first, later):
        n8n = read(emulator, instance)["n8n"]
        assert n8n["Status"] == "exited" and n8n["Running"] is False and n8n["Pid"] == 0
        assert n8n["FinishedAt"] != "0001-01-01T00:00:00Z"
        assert n8n["Health"]["Status"] == "unhealthy"
    states = read(emulator, own)
    assert states["n8n"]["Status"] == "running", "its own settings, not '*'"
    assert states["ollama"]["Restarting"] is True
    assert states["ollama"]["Health"] == {"Status": "starting", "FailingStreak": 0, "Log": []}
    assert "Health" not in states["qdrant"], "no healthcheck: no Health"
    assert "crawl4ai" not in states
    emulator.reset(strict=True)
    assert control(emulator) == {"instances": {}, "reads": {}}


def test_an_offline_agent_refuses_send_command(run):
    def scenario(emu):
        (instance,) = instances(emu)
        control(emu, {"instance": instance, "ssm": "offline"})
        send(emu, instance)

    assert "not in a valid state" in run.both(scenario, "InvalidInstanceId")


def test_an_instance_that_is_not_running_refuses_send_command(run):
    def terminated(emu):
        (instance,) = instances(emu)
        emu.client("ec2").terminate_instances(InstanceIds=[instance])
        send(emu, instance)

    def stopped(emu):
        (instance,) = instances(emu)
        emu.client("ec2").stop_instances(InstanceIds=[instance])
        send(emu, instance)

    def unknown(emu):
        send(emu, "i-0123456789abcdef0")

    for scenario in (terminated, stopped, unknown):
        run.both(scenario, "InvalidInstanceId")


def test_untagged_commands_keep_moto_s_empty_output(emulator):
    emulator.reset(strict=True)
    (instance,) = instances(emulator)
    for commands, document in [(["uptime"], "AWS-RunShellScript"),
                               ([f"echo\n{TAG}"], "AWS-RunShellScript"),
                               ([TAG], "AWS-RunPowerShellScript")]:
        got, _ = send(emulator, instance, commands, document)
        assert got["StandardOutputContent"] == ""
    assert control(emulator)["reads"] == {}
    assert read(emulator, instance), "the tag alone on the first element is enough"


def test_list_command_invocations_agrees_with_get_command_invocation(emulator):
    emulator.reset(strict=True)
    (instance,) = instances(emulator)
    control(emulator, {"services": {"postgres": {"unhealthy_reads": 1}}})
    got, command = send(emulator, instance)
    again = emulator.client("ssm").get_command_invocation(CommandId=command, InstanceId=instance)
    listed = emulator.client("ssm").list_command_invocations(
        CommandId=command, InstanceId=instance, Details=True)["CommandInvocations"]
    assert again["StandardOutputContent"] == got["StandardOutputContent"]
    assert '"unhealthy"' in got["StandardOutputContent"]
    assert [i["Status"] for i in listed] == ["Success"]
    assert listed[0]["CommandPlugins"][0]["Output"] == got["StandardOutputContent"]
    assert control(emulator)["reads"] == {instance: 1}, "one run, however often read"


def test_the_control_api_refuses_what_it_does_not_know(emulator):
    emulator.reset(strict=True)
    for body in [{"services": {"redis": {}}}, {"services": {"n8n": {"status": "dead"}}},
                 {"ssm": "asleep"}, {"services": {"n8n": {"unhealthy_reads": "x"}}}]:
        with pytest.raises(urllib.error.HTTPError) as caught:
            control(emulator, body)
        assert caught.value.code == 400
    assert control(emulator) == {"instances": {}, "reads": {}}


def test_send_command_runs_on_the_asked_instance_only(emulator):
    def scenario(emu):
        asked, other = instances(emu, 2)
        gone = launch(emu, [group(emu, "gone", default_vpc(emu)[0])])
        emu.client("ec2").terminate_instances(InstanceIds=[gone])
        emu.advance(SETTLE)
        ssm = emu.client("ssm")
        command = ssm.send_command(InstanceIds=[asked], DocumentName="AWS-RunShellScript",
                                   Parameters={"commands": [TAG]})["Command"]
        return asked, other, gone, command

    emulator.reset(strict=False)
    asked, other, gone, command = scenario(emulator)
    assert sorted(command["InstanceIds"]) == sorted([asked, other, gone]), \
        "moto: every instance in the region, the terminated one too"
    got = emulator.client("ssm").get_command_invocation(
        CommandId=command["CommandId"], InstanceId=other)
    assert got["Status"] == "Success", "moto: it ran where nobody sent it"

    emulator.reset(strict=True)
    asked, other, gone, command = scenario(emulator)
    assert command["InstanceIds"] == [asked] and command["TargetCount"] == 1
    for instance in (other, gone):
        with pytest.raises(Exception) as caught:
            emulator.client("ssm").get_command_invocation(
                CommandId=command["CommandId"], InstanceId=instance)
        assert caught.value.response["Error"]["Code"] == "InvocationDoesNotExist"
    listed = emulator.client("ssm").list_command_invocations(
        CommandId=command["CommandId"])["CommandInvocations"]
    assert [i["InstanceId"] for i in listed] == [asked]
    assert control(emulator)["reads"] == {asked: 1}, "one instance read, not three"
