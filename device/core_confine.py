"""Kernel confinement of a core process (DESIGN.md decision 9).

Runs in the core process (core_boot.py, under `python -I -S`).  User code on
the board is untrusted, and viper, uctypes and native code reach the whole
process, so the boundary is the kernel's, not the firmware's:

- the standby, before its board arrives (`prepare`), leaves the host's user,
  network, IPC and pid namespaces and forks into the pid namespace; a core
  of the wheel then already sets no_new_privs, non-dumpable and its rlimits,
  and restricts itself with Landlock (its board comes as fds, never paths);
- once the board is mapped (`apply`), the core enters a time namespace whose
  clocks count from the board's power-on and loads the seccomp allowlist
  (libseccomp compiled it in the template); then user code may run.  A core
  that execs another binary takes on Landlock and its rlimits there too.

What the running kernel lacks is reported, never skipped: `prepare` returns
one line naming each layer and whether it is on, which the host prints.
The syscall lists come from strace of the core under a workload of files,
I2C/SPI/UART, timers, IRQs, native and viper code, soft and hard resets.
"""
import ctypes
import errno
import os
import resource
import signal
import sys

CLONE_NEWTIME = 0x00000080
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
CLONE_THREAD = 0x00010000
PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_NAME = 15
PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2
AT_FDCWD_SIGN = 0x80000000  # a negative dirfd (AT_FDCWD) has this bit in its low word
ADDRESS_SPACE = 1 << 30
CORE_FDS = 16  # 0/1 console, 2 stderr, 3/4 side channel: no file is ever opened
LIBC = ctypes.CDLL(None, use_errno=True)

# What a core needs once MicroPython runs: its own memory, its own fds,
# threads (the firmware's event watcher), time, signals to itself.
CORE_SYSCALLS = (
    "read", "write", "readv", "writev", "pread64", "pwrite64", "lseek", "fsync", "fdatasync",
    "msync", "close", "dup", "dup2",
    "dup3", "fcntl", "poll", "ppoll", "select", "pselect6", "mmap", "munmap", "mprotect",
    "mremap", "madvise", "brk", "rt_sigaction", "rt_sigprocmask", "rt_sigreturn",
    "sigaltstack", "futex", "set_robust_list", "get_robust_list", "rseq", "set_tid_address",
    "sched_yield", "sched_getaffinity", "nanosleep", "clock_nanosleep", "clock_gettime",
    "clock_getres", "gettimeofday", "time", "getpid", "gettid", "getppid", "getuid", "geteuid",
    "getgid", "getegid", "getrandom", "exit", "exit_group", "restart_syscall", "uname",
)
# A tty's own ioctls (the firmware arms ISIG on its console): termios
# get/set, window size, bytes waiting, non-blocking.
TTY_IOCTLS = (0x5401, 0x5402, 0x5403, 0x5404, 0x540B, 0x5413, 0x541B, 0x5421)
# Another unix-port binary is exec'd, dynamically linked (maybe a script):
# it also needs its loader's calls; Landlock limits what it can open or run.
LOADER_SYSCALLS = (
    "execve", "open", "openat", "access", "faccessat", "faccessat2", "stat", "lstat", "fstat",
    "newfstatat", "statx", "readlink", "readlinkat", "getdents64", "getcwd", "arch_prctl",
    "prlimit64", "sysinfo", "ioctl", "prctl", "getrlimit",
)


class Plan:
    """What `prepare` set up and `apply` enforces."""

    def __init__(self) -> None:
        self.on: list[str] = []
        self.off: list[str] = []
        self.seccomp = None  # pyseccomp module, loaded before the board arrives
        self.bpf = b""  # the seccomp filter as libseccomp compiled it, before the board arrives
        self.landlock_abi = 0
        self.ruleset = None  # a Landlock ruleset made ahead (the wheel's core needs no paths)
        self.pid_namespace = False  # the standby forked into it
        self.name_fd = -1  # then: where it names itself for its parent (name_parent)
        self.time_fds: tuple[int, int] | None = None  # a time namespace made ahead: offsets, ns
        self.time_namespace = False  # the core entered one, its clocks set to the board's power-on

    def line(self) -> str:
        text = "confined: " + ", ".join(self.on) if self.on else "NOT confined"
        if self.off:
            text += "; missing on this kernel: " + ", ".join(self.off)
        return text


def _unshare(flags: int) -> bool:
    return LIBC.unshare(flags) == 0


# Compiled seccomp filters by (exec_binary, the pid signals may go to).
_compiled_filters: dict[tuple[bool, int], bytes] = {}


def load(exec_binary: bool) -> None:
    """In the template every standby is forked from: the libraries, loaded
    and probed once (finding libseccomp, and landlockpy's first call finding
    libc, run ldconfig: ~20 ms a time), and the seccomp filter of a core that
    is pid 1 in its namespace, compiled (~2 ms a time)."""
    try:
        import pyseccomp

        _bpf(pyseccomp, exec_binary, 1)
    except Exception:  # prepare() says what is missing
        pass
    try:
        import landlockpy

        landlockpy.abi_version()
    except Exception:
        pass


def prepare(exec_binary: bool = False) -> Plan:
    """In the standby: the namespaces that need no board, the libraries, and
    what can be built ahead so the board's handover pays only for loading it.
    `exec_binary`: the core will exec another unix-port binary."""
    plan = Plan()
    try:
        import pyseccomp

        pyseccomp.SyscallFilter(pyseccomp.ALLOW)  # libseccomp really loads
        plan.seccomp = pyseccomp
        plan.on.append("seccomp allowlist")
    except Exception as e:  # no libseccomp on this system
        plan.off.append(f"seccomp (libseccomp: {e})")
    try:
        import landlockpy

        plan.landlock_abi = landlockpy.abi_version()
    except Exception:
        plan.landlock_abi = 0
    if plan.landlock_abi:
        what = "no filesystem"
        if plan.landlock_abi >= 4:
            what += ", no TCP"
        if plan.landlock_abi >= 6:
            what += ", scoped signals and abstract sockets"
        plan.on.append(f"Landlock ABI {plan.landlock_abi} ({what})")
    else:
        plan.off.append("Landlock")
    # Last: a process started before (ldconfig, finding libseccomp) would
    # have become (and, exiting, ended) the new pid namespace's init.
    if _unshare(CLONE_NEWUSER | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWPID):
        plan.pid_namespace = True
        plan.on.insert(0, "user+net+ipc+pid namespaces")
    else:
        plan.off.insert(0, f"namespaces ({os.strerror(ctypes.get_errno())})")
    plan.on.append("rlimits")
    if plan.seccomp is not None:
        # pid 1 in its own pid namespace, else this very process.
        plan.bpf = _bpf(plan.seccomp, exec_binary, 1 if plan.pid_namespace else os.getpid())
    if plan.landlock_abi and not exec_binary:
        plan.ruleset = _landlock_ruleset()
    if plan.pid_namespace:
        plan.name_fd = _into_pid_namespace()
        plan.time_fds = _new_time_namespace()
    if not exec_binary:
        _harden(plan, file_size=0, fds=CORE_FDS)
    return plan


def _harden(plan: Plan, file_size: int, fds: int) -> None:
    # Everything but the clock and seccomp: what a board doesn't change.
    LIBC.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    LIBC.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    _rlimits(file_size, fds)
    if plan.ruleset is not None:
        plan.ruleset.restrict()
        plan.ruleset.close()
        plan.ruleset = None


def _bpf(sc, exec_binary: bool, pid: int) -> bytes:
    key = exec_binary, pid
    if key not in _compiled_filters:
        _compiled_filters[key] = _compiled(_seccomp_filter(sc, exec_binary, pid))
    return _compiled_filters[key]


def _compiled(f) -> bytes:
    # libseccomp's BPF program for the filter: loading it at the handover
    # costs a prctl, where f.load() would compile it then (~0.6 ms).
    r, w = os.pipe()
    try:
        f.export_bpf(os.fdopen(w, "wb", closefd=False))
        os.close(w)
        w = -1
        with os.fdopen(r, "rb") as pipe:
            r = -1
            return pipe.read()
    finally:
        for fd in (r, w):
            if fd >= 0:
                os.close(fd)


def _load_bpf(bpf: bytes) -> None:
    # struct sock_fprog: the number of 8-byte instructions, then their address.
    prog = ctypes.create_string_buffer(bpf, len(bpf))

    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    fprog = SockFprog(len(bpf) // 8, ctypes.addressof(prog))
    if LIBC.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "cannot load the seccomp filter")


def _new_time_namespace() -> tuple[int, int] | None:
    # A clock of its own (Linux >= 5.8): the core's C ticks, which asyncio
    # reads, count from the board's power-on (the host's CLOCK_MONOTONIC
    # then).  Made ahead, and its files opened while paths may be: the
    # offsets are written when the board is known, before anyone enters.
    if not _unshare(CLONE_NEWTIME):
        return None
    try:
        offsets = os.open("/proc/self/timens_offsets", os.O_WRONLY)
    except OSError:
        return None
    try:
        return offsets, os.open("/proc/self/ns/time_for_children", os.O_RDONLY)
    except OSError:
        os.close(offsets)
        return None


def _enter_time_namespace(fds: tuple[int, int], power_on: float) -> bool:
    # This single-threaded process joins it itself (setns moves the caller,
    # where unshare moves only its children).
    offsets, ns_fd = fds
    sec, frac = divmod(power_on, 1.0)
    ns = int(frac * 1e9)
    offset = f"{-int(sec) - (1 if ns else 0)} {(1000000000 - ns) % 1000000000}"
    try:
        os.write(offsets, f"monotonic {offset}\nboottime {offset}\n".encode())
        return LIBC.setns(ns_fd, CLONE_NEWTIME) == 0
    except OSError:
        return False
    finally:
        os.close(offsets)
        os.close(ns_fd)


def _into_pid_namespace() -> int:
    # The standby becomes pid 1 of the namespace it made: it can see and
    # signal no other process.  The parent stays behind as the process
    # the host knows, and ends as the core ends; the host stops it with
    # SIGTERM, which it passes on as SIGKILL, so the core is reaped here and
    # never left a zombie for the system's init.  Returns, in the child, the
    # pipe on which it names what it became for the parent (name_parent).
    # SIGTERM waits, blocked, until the child's pid is known to pass it on.
    r, w = os.pipe()
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    child = os.fork()
    if child == 0:
        os.close(r)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
        LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        LIBC.prctl(PR_SET_NAME, b"vpyb-confined", 0, 0, 0)
        return w
    signal.signal(signal.SIGTERM, lambda *_: os.kill(child, signal.SIGKILL))
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the tty's Ctrl-C is the core's
    os.closerange(0, r)  # the pty and side channel hang up when the core dies
    os.closerange(r + 1, 1024)
    # The parent is out of the core's reach (another pid namespace, no fd of
    # the core's, signals scoped); and nothing of it to dump or trace either.
    LIBC.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    LIBC.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    name = os.read(r, 16)  # nothing if the child ended first
    if name:
        LIBC.prctl(PR_SET_NAME, name, 0, 0, 0)
    os.close(r)
    _, status = os.waitpid(child, 0)
    if os.WIFSIGNALED(status):  # ended by the same signal (none leaves a core dump)
        sig = os.WTERMSIG(status)
        if sig != signal.SIGKILL:
            signal.signal(sig, signal.SIG_DFL)
        os.kill(os.getpid(), sig)
    os._exit(os.waitstatus_to_exitcode(status))


def name_parent(plan: Plan, name: bytes) -> bool:
    """What `ps` shows for the process the host knows, the pid namespace's
    parent, once the standby's board arrives ("vpyb-core"...); False if
    there is none (the caller is that process)."""
    if plan.name_fd < 0:
        return False
    os.write(plan.name_fd, name)
    os.close(plan.name_fd)
    plan.name_fd = -1
    return True


def _rlimits(file_size: int, fds: int) -> None:
    for which, value in ((resource.RLIMIT_CORE, 0), (resource.RLIMIT_FSIZE, file_size),
                         (resource.RLIMIT_NOFILE, fds), (resource.RLIMIT_AS, ADDRESS_SPACE)):
        resource.setrlimit(which, (value, value))


def _landlock_ruleset(readable: tuple = (), writable: tuple = (), executable: tuple = ()):
    from landlockpy import AccessFS, Ruleset, Scope

    rules = Ruleset(scoped=Scope.ABSTRACT_UNIX_SOCKET | Scope.SIGNAL)
    read = AccessFS.READ_FILE | AccessFS.READ_DIR
    for path in readable:
        rules.allow_path(path, read if os.path.isdir(path) else AccessFS.READ_FILE)
    for path in writable:
        rules.allow_path(path, AccessFS.READ_FILE | AccessFS.WRITE_FILE)
    for path in executable:
        rules.allow_path(path, AccessFS.READ_FILE | AccessFS.EXECUTE
                         | (AccessFS.READ_DIR if os.path.isdir(path) else 0))
    return rules


def _seccomp_filter(sc, loader: bool, pid: int):
    f = sc.SyscallFilter(sc.ERRNO(errno.EPERM))
    for name in CORE_SYSCALLS + (LOADER_SYSCALLS if loader else ()):
        try:
            f.add_rule(sc.ALLOW, name)
        except Exception:  # a call this architecture doesn't have
            pass
    # Threads, never processes; glibc falls back from clone3 (whose flags
    # a filter can't see) to clone.
    f.add_rule(sc.ALLOW, "clone", sc.Arg(0, sc.MASKED_EQ, CLONE_THREAD, CLONE_THREAD))
    f.add_rule(sc.ERRNO(errno.ENOSYS), "clone3")
    if not loader:
        for cmd in TTY_IOCTLS:
            f.add_rule(sc.ALLOW, "ioctl", sc.Arg(1, sc.MASKED_EQ, 0xFFFFFFFF, cmd))
        # fstat of an fd of its own (glibc's fstat), never a path.
        f.add_rule(sc.ALLOW, "newfstatat", sc.Arg(0, sc.MASKED_EQ, AT_FDCWD_SIGN, 0))
    # Signals to itself only (the GC stops its threads so).
    f.add_rule(sc.ALLOW, "kill", sc.Arg(0, sc.EQ, pid))
    f.add_rule(sc.ALLOW, "tgkill", sc.Arg(0, sc.EQ, pid))
    return f


def apply(plan: Plan, *, power_on: float, binary: str = "", flash: str = "",
          images: tuple = ()) -> None:
    """In the core, once the board is mapped: the rest of the layers, its
    clocks counting from `power_on` (the host's time.monotonic()).  With
    `binary` the core is about to exec another unix-port binary, which may
    read its own files, the system's libraries and `images`, write `flash`,
    and run only itself (Landlock and rlimits are applied here then)."""
    if plan.time_fds is not None:
        plan.time_namespace = _enter_time_namespace(plan.time_fds, power_on)
        plan.time_fds = None
    if binary:
        if plan.landlock_abi:
            run, read = _loader_paths(binary)
            plan.ruleset = _landlock_ruleset(read + images, (flash,), run)
        _harden(plan, os.path.getsize(flash), 256)
    if plan.bpf:
        _load_bpf(plan.bpf)


def _loader_paths(binary: str) -> tuple[tuple, tuple]:
    # What an exec'd binary runs (itself, its interpreter if it is a script,
    # the ELF loader) and reads (those, their prefixes, shared libraries).
    run = {os.path.realpath(binary)}
    read = {os.path.dirname(os.path.realpath(binary)), sys.base_prefix, sys.prefix}
    try:
        with open(binary, "rb") as f:
            first = f.readline(256)
        if first.startswith(b"#!"):
            interp = first[2:].split()[0].decode()
            run.add(os.path.realpath(interp))
            read.add(os.path.dirname(os.path.dirname(interp)))
            read.add(os.path.dirname(os.path.dirname(os.path.realpath(interp))))
    except OSError:
        pass
    for lib in ("/lib", "/lib64", "/usr/lib", "/usr/lib64"):
        if os.path.isdir(lib):
            read.add(lib)
            run.update(os.path.realpath(os.path.join(lib, n)) for n in os.listdir(lib)
                       if n.startswith("ld-linux"))
    read.add("/etc/ld.so.cache")
    return tuple(sorted(run)), tuple(sorted(p for p in read if os.path.exists(p)))
