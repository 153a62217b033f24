/* pin.h: names of everything hermesd pins under its pin root, shared by hermesd,
 * hermesctl and the tests so that no one spells a path by hand. */
#ifndef HERMES_PIN_H
#define HERMES_PIN_H

#define HERMES_PIN_ROOT_DEFAULT "/sys/fs/bpf/hermes"

/* maps, pinned at <root>/<name> (the map's own name) */
#define HERMES_MAP_POLICY  "hermes_policy"
#define HERMES_MAP_STATS   "hermes_stats"
#define HERMES_MAP_CONFIG  "hermes_config"
#define HERMES_MAP_ORIGDST "hermes_origdst"
#define HERMES_MAP_SKDST   "hermes_sk_dst"
#define HERMES_MAP_SOCKHASH "hermes_sockhash"
#define HERMES_MAP_SKACCEL "hermes_sk_accel"
#define HERMES_MAP_SPLICE "hermes_splice"
#define HERMES_MAP_SPLICE_PEER "hermes_splice_peer"
#define HERMES_MAP_KPATH "hermes_kpath"
#define HERMES_MAP_KPATH_SOCK "hermes_kpath_sock"
#define HERMES_MAP_FLOWS "hermes_flows"
#define HERMES_MAP_FLOW_ENGINE "hermes_flow_engine"
#define HERMES_MAP_IFSTATS "hermes_ifstats"
#define HERMES_MAP_INGRESS "hermes_ingress"
#define HERMES_MAP_INGRESS_LISTEN "hermes_ingress_listen"
#define HERMES_MAP_INGRESS_STATS "hermes_ingress_stats"

/* the hermes_flows_refresh iterator (bpf_iter link), pinned at <root>/<this>: reading
 * it brings the counters of the open flows in hermes_flows up to date (hermes/flow.h) */
#define HERMES_PIN_FLOWS_REFRESH "hermes_flows_refresh"

/* One hermesd per pin root: it holds an flock on LOCK_DIR/<pin root, escaped as
 * systemd-escape --path does>.lock for its life, the file holding its pid (bpffs
 * cannot hold a regular file, and the pin root itself may be removed under it). */
#define HERMES_LOCK_DIR "/run/hermes"

/* links, pinned at <root>/links/<program name> */
#define HERMES_PIN_LINKS "links"
/* the protected-ingress sk_lookup link (per network namespace) */
#define HERMES_LINK_INGRESS "hermes_ingress_lookup"

#endif
