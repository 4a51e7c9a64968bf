#!/usr/bin/python3
# Runs a command with socket(AF_NETLINK, ...) refused (EAFNOSUPPORT), as systemd's
# RestrictAddressFamilies= does when AF_NETLINK is not listed: a seccomp filter, inherited by
# every process the command starts. Usage: no-netlink.py COMMAND [ARG...]
import ctypes, os, platform, struct, sys

ARCH = {'x86_64': (0xC000003E, 41), 'aarch64': (0xC00000B7, 198)}
arch, socket_nr = ARCH[platform.machine()]
AF_NETLINK, EAFNOSUPPORT = 16, 97
LD, JEQ, RET = 0x20, 0x15, 0x06
ALLOW, ERRNO = 0x7FFF0000, 0x00050000
program = [
    (LD, 0, 0, 4),                # seccomp_data.arch
    (JEQ, 0, 5, arch),            # another ABI: allow
    (LD, 0, 0, 0),                # seccomp_data.nr
    (JEQ, 0, 3, socket_nr),       # not socket(): allow
    (LD, 0, 0, 16),               # args[0], the address family (low 32 bits)
    (JEQ, 0, 1, AF_NETLINK),
    (RET, 0, 0, ERRNO | EAFNOSUPPORT),
    (RET, 0, 0, ALLOW),
]
filters = b''.join(struct.pack('HBBI', *i) for i in program)
buf = ctypes.create_string_buffer(filters)
class Prog(ctypes.Structure):
    _fields_ = [('len', ctypes.c_ushort), ('filter', ctypes.c_void_p)]
prog = Prog(len(program), ctypes.addressof(buf))
libc = ctypes.CDLL(None, use_errno=True)
PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 38, 22, 2
if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 or libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(prog), 0, 0) != 0:
    sys.exit(f'no-netlink: prctl failed: {os.strerror(ctypes.get_errno())}')
os.execvp(sys.argv[1], sys.argv[1:])
