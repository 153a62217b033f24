/* caps.h: drop privileges once the BPF programs are attached and sockets bound. */
#ifndef HERMES_CAPS_H
#define HERMES_CAPS_H

/* Switches to `user` when non-empty, then keeps only CAP_NET_ADMIN (SO_MARK on
 * upstream sockets) in the permitted and effective sets, and clears the bounding
 * set of the rest. Returns 0 or -errno (logged). */
int caps_drop(const char *user);

#endif
