"""The fake Ollama behind SSM Run Command (rule ssm.ollama-models): moto
answers the models script with nothing, so a pull never shows progress or
ends; the strict layer lists models, grows a pull at a download's pace,
stalls one when asked and resumes it when pulled again."""

import json

from helpers import control
from helpers import launch
from test_instance import instances, send

RATE = 40_000_000
SIZE = 2_019_393_189  # llama3.2:3b


def run(emu, instance, action, model="llama3.2:3b"):
    script = f'# geusemaker:models-{action}\nset -euo pipefail\nmodel="{model}"\n'
    got, _ = send(emu, instance, [script])
    assert got["Status"] == "Success"
    return got["StandardOutputContent"]


def progress(emu, instance, model="llama3.2:3b"):
    lines = run(emu, instance, "progress", model).splitlines()
    return lines[0], (json.loads(lines[1]) if len(lines) > 1 else None)


def test_moto_answers_the_models_script_with_nothing(emulator):
    emulator.reset(strict=False)
    (instance,) = instances(emulator)
    assert run(emulator, instance, "pull") == ""
    emulator.advance(3600)
    assert run(emulator, instance, "progress") == "", "a pull that never ends"


def test_a_pull_grows_at_a_downloads_pace_and_ends_in_the_list(emulator):
    emulator.reset(strict=True)
    (instance,) = instances(emulator)
    tags, ps = run(emulator, instance, "list").splitlines()
    assert json.loads(tags) == {"models": []} and json.loads(ps) == {"models": []}
    assert run(emulator, instance, "pull") == "started\n"
    emulator.advance(10)
    state, line = progress(emulator, instance)
    assert state == "#running"
    assert (line["total"], line["completed"]) == (SIZE, 10 * RATE)
    emulator.advance(SIZE / RATE)
    state, line = progress(emulator, instance)
    assert (state, line) == ("#stopped", {"status": "success"})
    tags, ps = run(emulator, instance, "list").splitlines()
    assert [m["name"] for m in json.loads(tags)["models"]] == ["llama3.2:3b"]
    assert json.loads(ps)["models"][0]["size_vram"] == 0, "on CPU"
    assert run(emulator, instance, "rm") == "removed\n"
    assert "not found" in run(emulator, instance, "rm")


def test_a_stalled_pull_stops_short_until_pulled_again_and_resumes(emulator):
    emulator.reset(strict=True)
    (instance,) = instances(emulator)
    status, _ = control(emulator, "/strict-api/ollama", {"stall_next_at": 0.25})
    assert status == 200
    run(emulator, instance, "pull")
    emulator.advance(3600)
    state, line = progress(emulator, instance)
    stop = int(SIZE * 0.25)
    assert (state, line["completed"]) == ("#running", stop), "stuck, still running"
    run(emulator, instance, "pull")  # again: from what is on the EFS
    emulator.advance(10)
    assert progress(emulator, instance)[1]["completed"] == stop + 10 * RATE
    emulator.advance(SIZE / RATE)
    assert progress(emulator, instance)[1] == {"status": "success"}


def test_an_unknown_model_is_ollamas_error_and_a_bad_setting_is_refused(emulator):
    emulator.reset(strict=True)
    (instance,) = instances(emulator)
    assert "file does not exist" in run(emulator, instance, "pull", "gpt5")
    status, answer = control(emulator, "/strict-api/ollama", {"stall_next_at": 2})
    assert status == 400 and "between 0 and 1" in answer["error"]


def test_on_a_gpu_type_the_loaded_model_is_in_gpu_memory_and_the_health_read_says_so(emulator):
    """Rule ssm.ollama-gpu. moto's read has no '#ps' line and its list no
    models at all, so a product that never looked at size_vram would pass."""
    emulator.reset(strict=False)
    (instance,) = instances(emulator, name="gpu-moto")
    got, _ = send(emulator, instance)
    assert "#ps" not in got["StandardOutputContent"]
    emulator.reset(strict=True)
    (cpu,) = instances(emulator, name="cpu")
    vpc_instance = emulator.client("ec2").describe_instances(InstanceIds=[cpu])
    subnet = vpc_instance["Reservations"][0]["Instances"][0]["SubnetId"]
    groups = [g["GroupId"] for g in
              vpc_instance["Reservations"][0]["Instances"][0]["SecurityGroups"]]
    gpu = launch(emulator, groups, subnet, InstanceType="g4dn.xlarge")
    emulator.advance(60)
    for inst in (cpu, gpu):
        run(emulator, inst, "pull")
    emulator.advance(SIZE / RATE + 1)
    gpu_ps = json.loads(run(emulator, gpu, "list").splitlines()[1])["models"][0]
    cpu_ps = json.loads(run(emulator, cpu, "list").splitlines()[1])["models"][0]
    assert gpu_ps["size_vram"] == gpu_ps["size"] == SIZE
    assert cpu_ps["size_vram"] == 0
    lines = send(emulator, gpu)[0]["StandardOutputContent"].splitlines()
    ps = [line for line in lines if line.startswith("#ps ")]
    assert len(ps) == 1 and json.loads(ps[0][4:])["models"][0]["size_vram"] == SIZE
    assert not any(line.startswith("#ps") for line in
                   send(emulator, cpu)[0]["StandardOutputContent"].splitlines())
