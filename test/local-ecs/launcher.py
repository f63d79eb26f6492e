"""Starts one container as a process: the local ECS runtime's stand-in for a container runtime.

Run as root inside the task's network namespace:

    ip netns exec <task> python3 launcher.py <spec.json>

It creates fresh mount, UTS, IPC and PID namespaces and forks the container's first process,
PID 1 of the new PID namespace, then waits for it and exits with its status as a container
runtime reports it: the exit code, or 128 + the signal that killed it.

The first process builds the container's root file system as an overlay (the image's layer and
the host's root, read-only underneath a private writable layer), mounts /proc, /dev, tmpfs and
the task's volumes, sets the host name, then changes root, working directory, group and user,
and executes the container's command with exactly the container's environment: the command
becomes PID 1, as in a container.
"""
import ctypes
import json
import os
import signal
import socket
import subprocess
import sys

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWPID = 0x00020000, 0x04000000, 0x08000000, 0x20000000


def mount(*args):
    subprocess.run(["mount", *args], check=True)


def main():
    spec = json.load(open(sys.argv[1]))
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWPID) != 0:
        sys.exit(f"unshare failed: {os.strerror(ctypes.get_errno())}")
    # no fork before this one: the first child is the new PID namespace's init
    pid = os.fork()
    if pid == 0:
        container(spec)
    # the runtime signals the container's PID 1 directly; this process only reports how it ended
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _, status = os.waitpid(pid, 0)
    sys.exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status))


def container(spec):
    mount("--make-rprivate", "/")
    root = spec["root"]
    mount("-t", "overlay", "overlay", "-o",
          f"lowerdir={':'.join(spec['lowers'])},upperdir={spec['upper']},workdir={spec['work']}", root)
    mount("-t", "proc", "proc", f"{root}/proc")
    mount("--rbind", "/dev", f"{root}/dev")
    mount("--make-rslave", f"{root}/dev")
    mount("-t", "tmpfs", "-o", "mode=1777,nosuid,nodev", "tmpfs", f"{root}/dev/shm")
    for path in spec.get("tmpfs", []):
        os.makedirs(root + path, exist_ok=True)
        mount("-t", "tmpfs", "-o", "mode=1777", "tmpfs", root + path)
    for b in spec.get("binds", []):
        target = root + b["target"]
        if os.path.isdir(b["source"]):
            os.makedirs(target, exist_ok=True)
        else:
            os.makedirs(os.path.dirname(target), exist_ok=True)
            if not os.path.exists(target):
                open(target, "a").close()
        mount("--bind", b["source"], target)
        if b.get("readOnly"):
            mount("-o", "remount,bind,ro", target)

    socket.sethostname(spec["hostname"])
    os.chroot(root)
    cwd = spec.get("cwd") or "/"
    if not os.path.isdir(cwd):
        os.makedirs(cwd)  # Docker creates a missing working directory
    os.chdir(cwd)
    os.setgroups([])
    os.setgid(spec["gid"])
    os.setuid(spec["uid"])
    argv = spec["argv"]
    if not argv:
        sys.exit("CannotStartContainerError: no command and no entrypoint")
    try:
        os.execvpe(argv[0], argv, spec["env"])
    except OSError as e:
        print(f"CannotStartContainerError: exec {argv[0]}: {e.strerror}", file=sys.stderr, flush=True)
        sys.exit(127 if isinstance(e, FileNotFoundError) else 126)


if __name__ == "__main__":
    main()
