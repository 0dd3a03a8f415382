"""The kernel confines a core even when the firmware's Python layer is gone.

These runs bypass the firmware: a process confined exactly as a board's core
is (device/core_confine.py, the functions core_boot.py calls) then runs
attacks with the real MicroPython core's own os/open/socket, and with raw
syscalls made from the confined process itself (ctypes standing in for
what viper, uctypes or a native .mpy could do), and each is refused.
A layer the kernel lacks makes the test fail with its name, never pass quietly.
"""
from __future__ import annotations

import os
import subprocess
import sys
import re
import textwrap
import time
from pathlib import Path

from vpyb.device import core
from vpyb.device.board import VirtualBoard

DEVICE = Path(core.__file__).parent

# Runs in a fresh `python -I -S`, as a core does: confine, then attack.
HARNESS = """
import os, sys
sys.path[:0] = [{device!r}, *{libs!r}.split(os.pathsep), {wheel!r}]
import core_confine
{preload}
plan = core_confine.prepare(exec_binary={exec_binary})
print("LAYERS", plan.line(), flush=True)
if {no_seccomp}:
    plan.bpf = b""
core_confine.apply(plan, **{apply_args})
"""

# The MicroPython core's own modules, which the firmware hides from users.
MICROPYTHON_ATTACK = """
import os, socket
def attempt(name, f):
    try:
        print(name, "ALLOWED", f())
    except Exception as e:
        print(name, "refused", repr(e))
attempt("system", lambda: os.system("touch {marker}"))
attempt("read /etc/passwd", lambda: open("/etc/passwd").read(10))
attempt("write a host file", lambda: open("{marker}", "w").write("x"))
attempt("socket", lambda: socket.socket())
attempt("listdir /", lambda: os.listdir("/"))
"""

# Raw syscalls from inside the confined process (x86_64 numbers).
ATTEMPT = """
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
host = {host_pid}
def attempt(name, nr, *args):
    r = libc.syscall(nr, *args)
    print(name, "ALLOWED" if r >= 0 else "refused", r, os.strerror(ctypes.get_errno()), flush=True)
    if r == 0 and name == "fork":
        os._exit(0)
"""
SYSCALL_ATTACK = ATTEMPT + """
attempt("execve /bin/sh", 59, b"/bin/sh", (ctypes.c_char_p * 3)(b"sh", b"-c", None), None)
attempt("fork", 57)
attempt("vfork-like clone", 56, 0x4111, 0, 0, 0, 0)
attempt("openat /etc/passwd", 257, -100, b"/etc/passwd", 0)
attempt("creat marker", 85, b"{marker}", 0o644)
attempt("stat /etc/passwd", 262, -100, b"/etc/passwd", ctypes.create_string_buffer(256), 0)
attempt("socket inet", 41, 2, 1, 0)
attempt("socket unix", 41, 1, 1, 0)
attempt("ptrace attach host", 101, 16, host, 0, 0)
attempt("process_vm_readv host", 310, host, ctypes.create_string_buffer(16), 1, ctypes.create_string_buffer(16), 1, 0)
attempt("kill host", 62, host, 0)
attempt("mount", 165, b"none", b"/tmp", b"tmpfs", 0, None)
attempt("memfd_create", 319, b"x", 0)
attempt("unshare", 272, 0x10000000)
attempt("io_uring_setup", 425, 8, ctypes.create_string_buffer(256))
attempt("bpf", 321, 0, None, 0)
attempt("userfaultfd", 323, 0)
attempt("perf_event_open", 298, ctypes.create_string_buffer(128), 0, -1, -1, 0)
"""


def run_confined(attack: str, *, micropython: bool, binary: str = "", no_seccomp: bool = False,
                 tmp: Path) -> str:
    marker = tmp / "pwned"
    apply_args = {"power_on": 0.0}
    if binary:
        flash = tmp / "flash.img"
        flash.write_bytes(bytes(4096))
        apply_args = {"power_on": 0.0, "binary": binary, "flash": str(flash)}
    # What the attack needs is loaded before the confinement, as a core loads its own.
    preload = "import micropython_run" if micropython and not binary else "import ctypes, socket"
    script = HARNESS.format(device=str(DEVICE), libs=core.CONFINE_LIBRARIES, wheel=core.WHEEL_DIR,
                            no_seccomp=no_seccomp, apply_args=apply_args, preload=preload,
                            exec_binary=bool(binary))
    code = attack.format(marker=marker, host_pid=os.getpid())
    if binary:
        script += f"os.execv({binary!r}, [{binary!r}, '-c', {code!r}])\n"
    elif micropython:
        script += f"os._exit(micropython_run.run_main(['micropython', '-c', {code!r}]))\n"
    else:
        script += code
    out = subprocess.run([sys.executable, "-I", "-S", "-c", textwrap.dedent(script)],
                         capture_output=True, text=True, timeout=30)
    text = out.stdout + out.stderr
    assert "LAYERS confined" in text, text
    assert not marker.exists(), f"the confined core wrote a host file:\n{text}"
    return text


def refused_all(text: str, names: list[str]) -> None:
    for name in names:
        line = next((ln for ln in text.splitlines() if ln.startswith(name + " ")), None)
        assert line is not None, f"{name}: no result\n{text}"
        # system() can't raise: glibc answers 127 << 8 when it could not spawn the shell.
        assert " refused" in line or name == "system" and line.split()[-1] in ("-1", "32512"), line


def test_every_layer_is_on_this_kernel():
    with VirtualBoard(ephemeral=True) as board:
        line = board.confinement
    for layer in ("user+net+ipc+pid namespaces", "seccomp allowlist", "Landlock", "rlimits"):
        assert layer in line, line
    assert "missing" not in line, line


def test_the_cores_own_os_open_and_socket_are_refused(tmp_path):
    text = run_confined(MICROPYTHON_ATTACK, micropython=True, tmp=tmp_path)
    refused_all(text, ["system", "read /etc/passwd", "write a host file", "socket", "listdir /"])


def test_raw_syscalls_from_inside_the_core_are_refused(tmp_path):
    text = run_confined(SYSCALL_ATTACK, micropython=False, tmp=tmp_path)
    refused_all(text, [ln.split(",")[0].split('"')[1] for ln in SYSCALL_ATTACK.splitlines()
                       if ln.startswith("attempt(")])


def test_landlock_alone_refuses_files_exec_and_tcp(tmp_path):
    # Defence in depth: with the seccomp filter left out, Landlock and the
    # namespaces still refuse the host's files, programs and network.
    attack = ATTEMPT + textwrap.dedent("""
        attempt("execve /bin/sh", 59, b"/bin/sh", (ctypes.c_char_p * 3)(b"sh", b"-c", None), None)
        attempt("openat /etc/passwd", 257, -100, b"/etc/passwd", 0)
        attempt("creat marker", 85, b"{marker}", 0o644)
        import socket
        try:
            socket.create_connection(("127.0.0.1", 22), timeout=1)
            print("tcp ALLOWED")
        except OSError as e:
            print("tcp refused", e)
        """)
    text = run_confined(attack, micropython=False, no_seccomp=True, tmp=tmp_path)
    refused_all(text, ["execve /bin/sh", "openat /etc/passwd", "creat marker", "tcp"])


def test_another_binary_core_is_confined_too(tmp_path):
    # --micropython: the binary is exec'd inside the confinement (the wheel's
    # own `micropython` script: CPython starting the unix port).
    binary = str(Path(sys.executable).parent / "micropython")
    text = run_confined(MICROPYTHON_ATTACK, micropython=True, binary=binary, tmp=tmp_path)
    refused_all(text, ["system", "read /etc/passwd", "write a host file", "socket", "listdir /"])


def test_a_kernel_without_a_layer_still_runs_the_board_and_says_so(tmp_path):
    # A kernel lacking namespaces and Landlock can't be made here: the probes
    # are told so, and the rest of the confinement still holds.
    script = HARNESS.replace("plan = core_confine.prepare(", (
        "import landlockpy\n"
        "core_confine._unshare = lambda flags: False\n"
        "landlockpy.abi_version = lambda: 0\n"
        "plan = core_confine.prepare(")).format(
        device=str(DEVICE), libs=core.CONFINE_LIBRARIES, wheel=core.WHEEL_DIR,
        no_seccomp=False, apply_args={"power_on": 0.0}, preload="import micropython_run",
        exec_binary=False)
    script += ("os._exit(micropython_run.run_main(['micropython', '-c', "
               "'import socket\\nprint(6 * 7)\\ntry:\\n socket.socket()\\nexcept OSError as e:\\n"
               " print(\"socket refused\", e)']))\n")
    out = subprocess.run([sys.executable, "-I", "-S", "-c", script], capture_output=True,
                         text=True, timeout=30)
    layers = next(ln for ln in out.stdout.splitlines() if ln.startswith("LAYERS"))
    assert "missing on this kernel: namespaces" in layers and "Landlock" in layers.split("missing")[1]
    assert "seccomp allowlist" in layers.split("missing")[0]
    assert "42" in out.stdout and "socket refused" in out.stdout, out.stdout + out.stderr


def _status(pid: int) -> dict[str, str]:
    lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    return dict(ln.split(":\t", 1) for ln in lines if ":\t" in ln)


def _confined_under(role: str) -> list[int]:
    # This process's wheel cores' pid-1 processes (forked from its template
    # of the wheel's core: other tests leave standbys of --micropython
    # binaries, which are restricted once their binary is known) whose
    # parent goes by `role`.
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = _status(int(entry.name))
            parent = _status(int(status["PPid"]))
            template = _status(int(parent["PPid"]))
            argv = Path(f"/proc/{parent['PPid']}/cmdline").read_text().split("\0")
            wheel = core.WHEEL_DIR in argv[5:6]  # python -I -S core_boot.py FD CORE ...
            if (status["Name"] == "vpyb-confined" and parent["Name"] == role
                    and int(template["PPid"]) == os.getpid() and wheel):
                found.append(int(entry.name))
        except (OSError, KeyError, ValueError):
            continue
    return found


def test_the_kernel_reports_the_layers_on_cores_and_waiting_standbys():
    # What the kernel says of the processes themselves: a standby waiting for
    # a board is already restricted (its board comes as fds), and a board's
    # core also has its seccomp filter.
    with VirtualBoard(ephemeral=True) as board:
        assert board.wait_prompt()
        time.sleep(0.1)  # the next standby is forked 20 ms after one is taken
        core = _confined_under("vpyb-core")
        standby = _confined_under("vpyb-standby")
        assert core and standby, (core, standby)
        for pid in core + standby:
            status = _status(pid)
            limits = Path(f"/proc/{pid}/limits").read_text()
            assert status["NoNewPrivs"].strip() == "1", status
            assert re.search(r"Max open files\s+16\s+16", limits), limits
            assert re.search(r"Max file size\s+0\s+0", limits), limits
            assert re.search(r"Max core file size\s+0\s+0", limits), limits
            assert status["NSpid"].split()[-1] == "1", status  # pid 1 in its own namespace
            waiter = _status(int(status["PPid"]))  # outside its reach, and hardened too
            assert waiter["NoNewPrivs"].strip() == "1", waiter
        for pid in core:
            assert _status(pid)["Seccomp"].strip() == "2", _status(pid)  # a filter is loaded


def test_vpyb_run_says_its_layers_and_unconfined_warns(start_board):
    for args, expect in ((("--ephemeral",), "vpyb: core confined: "),
                         (("--ephemeral", "--unconfined"), "WARNING: --unconfined")):
        b = start_board(*args)
        b.stop()
        # stop() closed the pipes: read what the process wrote before.
        err = b.stderr_text
        assert expect in err, err


ROUTES = {
    # Every way user code has had to the core's own os, builtins and VFS.
    "fw_os": "import fw_os; r = fw_os._os.system('touch {marker}')",
    "builtins": "import builtins; r = builtins.__import__('os').system('touch {marker}')",
    "posix vfs": ("import builtins; v = builtins.__import__('vfs'); v.mount(v.VfsPosix('/'), '/h');"
                  " r = open('/h/etc/passwd').read()"),
}


def test_user_code_on_a_board_reaches_nothing_of_the_host(start_board, tmp_path):
    b = start_board("--ephemeral")
    marker = tmp_path / "pwned"
    for name, route in ROUTES.items():
        out = subprocess.run([sys.executable, "-m", "mpremote", "connect", b.port, "exec",
                              route.format(marker=marker) + "\nprint('ROUTE', r)"],
                             capture_output=True, text=True, timeout=30)
        assert not marker.exists(), f"{name}: a shell command ran on the host"
        assert "root:" not in out.stdout, f"{name}: read a host file"
    # The board is still a board afterwards.
    out = subprocess.run([sys.executable, "-m", "mpremote", "connect", b.port, "exec", "print(6*7)"],
                         capture_output=True, text=True, timeout=30)
    assert out.stdout.strip() == "42", out
