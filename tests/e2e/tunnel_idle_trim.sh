#!/bin/bash
# tunnel_idle_trim: after a burst of flows that stay open, both hermesd give the memory
# the burst's setup freed back to the kernel. 2000 flows (500 in the SAN build) through
# the `tunnel` action over an HTTP/2 peer (mutual TLS, pooled sessions, a stream a
# flow), one 64-byte exchange each, then idle: within a few seconds each hermesd has
# trimmed its heap (hermes_heap_trims_total; before, the bytes it counts only grew, so
# no trim ran and a stream's freed first ring chunk kept a page resident: the listener's
# hermesd held 79 MB for 10,000 such flows, 37 MB after a trim), and, in the normal
# build, the two hermesd's RSS grew by less than 8 KiB a flow together (measured
# 5.0-5.2 KiB). Then the idle flows all close at once and, a tick later, 16 flows of 1 MiB
# (8 in the SAN build) go through the same sessions: every byte is echoed as sent and
# neither hermesd saw a broken TLS record (what a buffer freed or given back while an op
# in flight still used it would send; build with -DHERMES_POISON, buf.h, to make such a
# use certain to show). The test is tunnel_idle_flows.sh's h2 mode (the breakdown is in
# the log).
IDLE_MODE=h2 IDLE_MAX_KIB=8 exec "$(dirname "$0")/tunnel_idle_flows.sh"
