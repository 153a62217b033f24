#!/usr/bin/python3
"""polwatch.py: watches one rule of a pinned hermes_policy map as fast as the bpf system
call allows, for tests/e2e/reload.sh (a reload that rewrites the map must never let a
kept rule go missing). Run with /usr/bin/python3 (ctypes only; x86_64 or aarch64).

  polwatch.py MAP_PIN CIDR STOPFILE

CIDR is an IPv4 host or network ("10.90.0.1/32", any port). It looks the rule's key up
(the LPM lookup of its own prefix: nothing else in the map may cover it) until STOPFILE
exists, then prints "lookups=N missing=M actions=A,B" (missing: lookups that found no
entry; actions: the action values seen) and exits 0; 2 if the map cannot be opened.
"""
import ctypes
import ipaddress
import os
import struct
import sys

NR_BPF = {"x86_64": 321, "aarch64": 280}
BPF_MAP_LOOKUP_ELEM, BPF_OBJ_GET = 1, 7


def main():
    pin, cidr, stop = sys.argv[1:4]
    libc = ctypes.CDLL(None, use_errno=True)
    nr = NR_BPF[os.uname().machine]
    path = ctypes.create_string_buffer(pin.encode())
    attr = ctypes.create_string_buffer(128)
    struct.pack_into("=QII", attr, 0, ctypes.addressof(path), 0, 0)
    fd = libc.syscall(nr, BPF_OBJ_GET, attr, 128)
    if fd < 0:
        print("cannot open %s: %s" % (pin, os.strerror(ctypes.get_errno())))
        return 2
    net = ipaddress.ip_network(cidr)
    # struct hermes_policy_key: prefixlen = 32 (family, pad, port) + CIDR length
    key = ctypes.create_string_buffer(struct.pack("=IBBH16s", 32 + net.prefixlen, 4, 0, 0,
                                                  net.network_address.packed.ljust(16, b"\0")))
    val = ctypes.create_string_buffer(8)
    look = ctypes.create_string_buffer(128)
    struct.pack_into("=IIQQQ", look, 0, fd, 0, ctypes.addressof(key), ctypes.addressof(val), 0)
    n = missing = 0
    actions = set()
    while True:
        for _ in range(200):
            n += 1
            if libc.syscall(nr, BPF_MAP_LOOKUP_ELEM, look, 128) < 0:
                missing += 1
            else:
                actions.add(val.raw[0])
        if os.path.exists(stop):
            break
    print("lookups=%d missing=%d actions=%s" % (n, missing, ",".join(str(a) for a in sorted(actions))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
