// SPDX-License-Identifier: Apache-2.0
/*
 * nodeinspect-bpf: the small native helper of nodeinspect.
 *
 * Debian 12's bpftool 7.1 and tc cannot see tcx (kernel >= 6.6) or netkit attachments, and Node cannot
 * make the bpf(2) syscall. This helper does the two raw syscalls nodeinspect needs:
 *
 *   nodeinspect-bpf query [--dev NAME]
 *       BPF_PROG_QUERY(target_ifindex) for tcx ingress/egress and netkit primary/peer on every device of
 *       the current network namespace, and BPF_PROG_QUERY(netns fd) for its flow dissector; prints one JSON
 *       object.
 *   nodeinspect-bpf tcx-attach --prog-pin PATH --dev NAME --dir ingress|egress --link-pin PATH
 *                              [--before-prog-id N | --after-prog-id N | --first | --last]
 *       BPF_OBJ_GET + BPF_LINK_CREATE(BPF_TCX_*) + BPF_OBJ_PIN of the link; prints one JSON object.
 *   nodeinspect-bpf netns-dump NAME...
 *       For each named netns (/run/netns/NAME): setns into it and dump its links, addresses and routes over
 *       rtnetlink; one JSON object for all of them, with an error object for a namespace that cannot be read.
 *   nodeinspect-bpf prog-dump ID...
 *       For each program id: BPF_PROG_GET_FD_BY_ID + BPF_OBJ_GET_INFO_BY_FD (once for the lengths, once with
 *       buffers) for its translated (xlated) instructions, map ids, line info (the source lines, from the
 *       program's BTF string section) and jited symbols; every call resolved to the name bpftool would print,
 *       with ONE read of /proc/kallsyms for all programs (bpftool 7.1 reads it once per program). One JSON object.
 *   nodeinspect-bpf nft-tables
 *       The nf_tables tables of the current network namespace (family, name, handle, use, flags) in the kernel's
 *       order, from one NFT_MSG_GETTABLE dump over nfnetlink; one JSON object.
 *   nodeinspect-bpf exec --sndbuf BYTES -- TOOL [ARG...]
 *       Gives standard output a buffer of BYTES, then executes TOOL in place (same pid: a timeout's kill
 *       reaches it). Node's child stdout is a socketpair, where a writer sleeps once the bytes it has in
 *       flight reach its sk_sndbuf (sock_alloc_send_pskb, from unix_stream_sendmsg), 208 KiB by default
 *       (net.core.wmem_default), and wakes only when the reader has taken three quarters of them
 *       (unix_writable). A reader that parses a dump as it streams pauses now and then (a GC, a slow chunk), so
 *       iptables-save stopped ~300 times per 16 MB dump and took ~0.17 s longer (docs/kernel-notes.md,
 *       kn-30-dump-socket-buffer). SO_SNDBUFFORCE (CAP_NET_ADMIN; else SO_SNDBUF, capped at net.core.wmem_max)
 *       on a socket, F_SETPIPE_SZ on a pipe; a buffer that cannot be set leaves the default. Not JSON: the
 *       output is TOOL's. Exit 127 (with "No such file or directory", as nsenter says it) when TOOL is not
 *       found, 126 when it cannot be executed, 2 on a usage error.
 *   nodeinspect-bpf spawn-server
 *       Starts the tools nodeinspect asks for on its stdin and sends their output and exit back on its stdout
 *       (spawn-server.c has the protocol and says why).
 *   nodeinspect-bpf version
 *
 * It uses no libbpf: the attr layouts are written out below because Debian's 6.1 UAPI headers lack tcx.
 * Output contract (all but exec): exactly one JSON object on stdout. On error: one line on stderr, {"error":"..."} on
 * stdout, exit 1 (exit 2 for a usage error).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <linux/btf.h>
#include "spawn-server.h"

#define HELPER_NAME "nodeinspect-bpf"
#define HELPER_VERSION 1

/* bpf(2) commands (include/uapi/linux/bpf.h, enum bpf_cmd). */
enum {
	NI_BPF_OBJ_PIN = 6,
	NI_BPF_OBJ_GET = 7,
	NI_BPF_OBJ_GET_INFO_BY_FD = 15,
	NI_BPF_PROG_QUERY = 16,
	NI_BPF_LINK_CREATE = 28,
};

/* enum bpf_attach_type values added after Linux 6.1. */
enum {
	NI_BPF_TCX_INGRESS = 46,
	NI_BPF_TCX_EGRESS = 47,
	NI_BPF_NETKIT_PRIMARY = 54,
	NI_BPF_NETKIT_PEER = 55,
};

/* Attach flags for multi-program (bpf_mprog) attach points, kernel >= 6.6. */
#define NI_BPF_F_BEFORE (1U << 3)
#define NI_BPF_F_AFTER (1U << 4)
#define NI_BPF_F_ID (1U << 5)

/* BPF_MPROG_MAX: a tcx/netkit hook holds at most 64 programs. */
#define NI_MPROG_MAX 64

/* BPF_PROG_QUERY attr, layout of kernel >= 6.6 (64 bytes). */
struct ni_query_attr {
	uint32_t target_ifindex;     /* union with target_fd */
	uint32_t attach_type;
	uint32_t query_flags;
	uint32_t attach_flags;
	uint64_t prog_ids;           /* user pointer to u32[] */
	uint32_t prog_cnt;           /* in: array size, out: number of programs */
	uint32_t pad0;
	uint64_t prog_attach_flags;  /* user pointer to u32[] */
	uint64_t link_ids;           /* user pointer to u32[] */
	uint64_t link_attach_flags;  /* user pointer to u32[] */
	uint64_t revision;           /* out */
};

/* BPF_OBJ_PIN / BPF_OBJ_GET attr. */
struct ni_obj_attr {
	uint64_t pathname;
	uint32_t bpf_fd;
	uint32_t file_flags;
	int32_t path_fd;
	uint32_t pad0;
};

/* BPF_LINK_CREATE attr, the tcx variant of the trailing union. */
struct ni_link_create_attr {
	uint32_t prog_fd;
	uint32_t target_ifindex;     /* union with target_fd */
	uint32_t attach_type;
	uint32_t flags;
	uint32_t relative_id;        /* union with relative_fd */
	uint32_t pad0;
	uint64_t expected_revision;
};

/* BPF_OBJ_GET_INFO_BY_FD attr. */
struct ni_info_attr {
	uint32_t bpf_fd;
	uint32_t info_len;
	uint64_t info;
};

/* The head of struct bpf_link_info, with the tcx member of its union. */
struct ni_link_info {
	uint32_t type;
	uint32_t id;
	uint32_t prog_id;
	uint32_t pad0;
	uint32_t tcx_ifindex;
	uint32_t tcx_attach_type;
	uint64_t pad1[6];
};

static long sys_bpf(int cmd, void *attr, unsigned int size)
{
	return syscall(__NR_bpf, cmd, attr, size);
}

static uint64_t ptr_to_u64(const void *p)
{
	return (uint64_t)(uintptr_t)p;
}

/* ---- JSON output ---------------------------------------------------------------------------- */

static void json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"': fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\n': fputs("\\n", f); break;
		case '\r': fputs("\\r", f); break;
		case '\t': fputs("\\t", f); break;
		default:
			if (*p < 0x20)
				fprintf(f, "\\u%04x", *p);
			else
				fputc(*p, f);
		}
	}
	fputc('"', f);
}

/* One line on stderr, {"error":"..."} on stdout, then exit. */
static void fail(int code, const char *fmt, ...) __attribute__((noreturn, format(printf, 2, 3)));
static void fail(int code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, HELPER_NAME ": %s\n", msg);
	fputs("{\"error\":", stdout);
	json_string(stdout, msg);
	fputs("}\n", stdout);
	fflush(stdout);
	exit(code);
}

/* ---- query ---------------------------------------------------------------------------------- */

struct attach_kind {
	uint32_t type;
	const char *name;
	int netkit;
};

static const struct attach_kind kinds[] = {
	{NI_BPF_TCX_INGRESS, "tcx_ingress", 0},
	{NI_BPF_TCX_EGRESS, "tcx_egress", 0},
	{NI_BPF_NETKIT_PRIMARY, "netkit_primary", 1},
	{NI_BPF_NETKIT_PEER, "netkit_peer", 1},
};
#define NKINDS (sizeof(kinds) / sizeof(kinds[0]))

struct query_result {
	int err;                      /* 0 or a positive errno */
	uint32_t count;
	uint64_t revision;
	uint32_t prog_ids[NI_MPROG_MAX];
	uint32_t prog_flags[NI_MPROG_MAX];
	uint32_t link_ids[NI_MPROG_MAX];
	uint32_t link_flags[NI_MPROG_MAX];
};

static void query_one(uint32_t ifindex, uint32_t attach_type, struct query_result *r)
{
	struct ni_query_attr attr;

	memset(r, 0, sizeof(*r));
	memset(&attr, 0, sizeof(attr));
	attr.target_ifindex = ifindex;
	attr.attach_type = attach_type;
	attr.prog_ids = ptr_to_u64(r->prog_ids);
	attr.prog_attach_flags = ptr_to_u64(r->prog_flags);
	attr.link_ids = ptr_to_u64(r->link_ids);
	attr.link_attach_flags = ptr_to_u64(r->link_flags);
	attr.prog_cnt = NI_MPROG_MAX;
	if (sys_bpf(NI_BPF_PROG_QUERY, &attr, sizeof(attr)) < 0) {
		/* ENOSPC cannot happen with NI_MPROG_MAX slots; keep what was copied if it does. */
		r->err = errno;
		if (r->err != ENOSPC)
			return;
	}
	r->count = attr.prog_cnt > NI_MPROG_MAX ? NI_MPROG_MAX : attr.prog_cnt;
	r->revision = attr.revision;
}

/*
 * Which errnos mean "nothing to report" rather than an error:
 *   tcx:    none; BPF_PROG_QUERY works on every device once the kernel has tcx (count 0 when empty).
 *   netkit: ENXIO = the device is not a netkit device; EACCES = it is the non-primary (peer) side,
 *           whose programs are only visible through the primary device. Both are normal.
 * ENODEV (the device vanished between if_nameindex and the query) is also skipped.
 */
static int errno_is_expected(const struct attach_kind *k, int err)
{
	if (err == ENODEV)
		return 1;
	if (k->netkit && (err == ENXIO || err == EACCES))
		return 1;
	return 0;
}

/*
 * The flow dissector of the current network namespace: BPF_PROG_QUERY with BPF_FLOW_DISSECTOR and the netns's
 * fd as target (kernel/bpf/net_namespace.c netns_bpf_prog_query(); query_flags must be 0). It holds at most one
 * program, attached by BPF_PROG_ATTACH or a link. This is the query `bpftool net show` makes for its
 * flow_dissector list, done here so that hooks need not run bpftool net at all. A kernel without the
 * attach type (before 4.20) rejects it with EINVAL: none can be attached there. Any other error is printed
 * as this object's error, and the caller reads the flow dissector elsewhere.
 */
static void print_flow_dissector(FILE *f)
{
	struct ni_query_attr attr;
	uint32_t ids[8] = {0};
	int fd, err = 0;

	fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = errno;
	} else {
		memset(&attr, 0, sizeof(attr));
		attr.target_ifindex = (uint32_t)fd; /* target_fd */
		attr.attach_type = BPF_FLOW_DISSECTOR;
		attr.prog_ids = ptr_to_u64(ids);
		attr.prog_cnt = sizeof(ids) / sizeof(ids[0]);
		if (sys_bpf(NI_BPF_PROG_QUERY, &attr, sizeof(attr)) < 0)
			err = errno;
		close(fd);
	}
	fputs("\"flow_dissector\":{", f);
	if (err == EINVAL) {
		fputs("\"supported\":false,\"progs\":[]}", f);
		return;
	}
	if (err) {
		fprintf(f, "\"errno\":%d,\"error\":", err);
		json_string(f, strerror(err));
		fputc('}', f);
		return;
	}
	fputs("\"supported\":true,\"progs\":[", f);
	for (uint32_t i = 0; i < attr.prog_cnt && i < sizeof(ids) / sizeof(ids[0]); i++)
		fprintf(f, "%s{\"prog_id\":%u}", i ? "," : "", ids[i]);
	fputs("]}", f);
}

static int cmd_query(int argc, char **argv)
{
	const char *only_dev = NULL;
	struct if_nameindex *ifs, *it;
	static struct query_result res;
	unsigned int ndev = 0, nqueries = 0, nok = 0, neperm = 0, nerr = 0;
	unsigned int einval[NKINDS] = {0};
	struct {
		unsigned int ifindex;
		const char *devname;
		unsigned int kind;
		int err;
	} *errs = NULL;
	char *attachments = NULL;
	size_t alen = 0;
	FILE *af;
	int first = 1;

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--dev") && i + 1 < argc)
			only_dev = argv[++i];
		else
			fail(2, "query: unknown argument '%s' (usage: query [--dev NAME])", argv[i]);
	}

	ifs = if_nameindex();
	if (!ifs)
		fail(1, "if_nameindex: %s", strerror(errno));
	if (only_dev && !if_nametoindex(only_dev))
		fail(1, "no such device '%s' in this network namespace", only_dev);

	af = open_memstream(&attachments, &alen);
	if (!af)
		fail(1, "open_memstream: %s", strerror(errno));

	for (it = ifs; it->if_index != 0 && it->if_name != NULL; it++) {
		if (only_dev && strcmp(only_dev, it->if_name) != 0)
			continue;
		ndev++;
		for (unsigned int k = 0; k < NKINDS; k++) {
			query_one(it->if_index, kinds[k].type, &res);
			nqueries++;
			if (res.err == 0 || res.err == ENOSPC) {
				nok++;
			} else {
				if (res.err == EINVAL)
					einval[k]++;
				if (res.err == EPERM)
					neperm++;
				if (!errno_is_expected(&kinds[k], res.err)) {
					errs = realloc(errs, (nerr + 1) * sizeof(*errs));
					if (!errs)
						fail(1, "out of memory");
					errs[nerr].ifindex = it->if_index;
					errs[nerr].devname = it->if_name;
					errs[nerr].kind = k;
					errs[nerr].err = res.err;
					nerr++;
				}
				continue;
			}
			if (res.count == 0)
				continue;
			fprintf(af, "%s{\"ifindex\":%u,\"devname\":", first ? "" : ",", it->if_index);
			json_string(af, it->if_name);
			fprintf(af, ",\"attach_type\":\"%s\",\"revision\":%llu,\"progs\":[", kinds[k].name,
				(unsigned long long)res.revision);
			/* The kernel returns the programs in execution order: index 0 runs first. */
			for (uint32_t p = 0; p < res.count; p++)
				fprintf(af, "%s{\"prog_id\":%u,\"link_id\":%u,\"prog_flags\":%u,\"link_flags\":%u}",
					p ? "," : "", res.prog_ids[p], res.link_ids[p], res.prog_flags[p], res.link_flags[p]);
			fputs("]}", af);
			first = 0;
		}
	}
	fclose(af);

	if (nqueries > 0 && nok == 0 && neperm > 0)
		fail(1, "BPF_PROG_QUERY: %s (needs CAP_NET_ADMIN in this network namespace)", strerror(EPERM));

	/*
	 * Support rule: an attach family (tcx = ingress+egress, netkit = primary+peer) is supported unless
	 * BPF_PROG_QUERY failed with EINVAL for every device and both of its attach types. A kernel that does
	 * not know the attach type (tcx before 6.6; netkit before 6.7 or without CONFIG_NETKIT) rejects it
	 * with EINVAL before looking at the device, whereas a kernel that knows it answers with a count
	 * (tcx, even for an empty hook) or ENXIO/EACCES for devices that are not netkit primaries.
	 * With no device queried, nothing is known and the answer is false.
	 * EINVAL for an unsupported family is that verdict, not an error; any other EINVAL is reported.
	 */
	int tcx_ok = ndev > 0 && !(einval[0] == ndev && einval[1] == ndev);
	int nk_ok = ndev > 0 && !(einval[2] == ndev && einval[3] == ndev);

	printf("{\"helper\":\"%s\",\"version\":%d,\"queried\":%u,\"tcx_supported\":%s,\"netkit_supported\":%s,",
	       HELPER_NAME, HELPER_VERSION, ndev, tcx_ok ? "true" : "false", nk_ok ? "true" : "false");
	print_flow_dissector(stdout);
	printf(",\"attachments\":[%s],\"errors\":[", attachments ? attachments : "");
	first = 1;
	for (unsigned int e = 0; e < nerr; e++) {
		const struct attach_kind *k = &kinds[errs[e].kind];

		if (errs[e].err == EINVAL && !(k->netkit ? nk_ok : tcx_ok))
			continue;
		printf("%s{\"ifindex\":%u,\"devname\":", first ? "" : ",", errs[e].ifindex);
		json_string(stdout, errs[e].devname);
		printf(",\"attach_type\":\"%s\",\"errno\":%d,\"message\":", k->name, errs[e].err);
		json_string(stdout, strerror(errs[e].err));
		putchar('}');
		first = 0;
	}
	printf("]}\n");
	free(errs);
	free(attachments);
	if_freenameindex(ifs);
	return 0;
}

/* ---- tcx-attach ----------------------------------------------------------------------------- */

static uint32_t parse_id(const char *flag, const char *s)
{
	char *end = NULL;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || !end || *end || end == s || v == 0 || v > UINT32_MAX)
		fail(2, "%s: expected a positive program id, got '%s'", flag, s);
	return (uint32_t)v;
}

static int cmd_tcx_attach(int argc, char **argv)
{
	const char *prog_pin = NULL, *dev = NULL, *dir = NULL, *link_pin = NULL;
	uint32_t flags = 0, relative_id = 0;
	int placement = 0;
	struct ni_obj_attr oattr;
	struct ni_link_create_attr lattr;
	struct ni_info_attr iattr;
	struct ni_link_info linfo;
	unsigned int ifindex;
	uint32_t attach_type;
	int prog_fd, link_fd;

	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--first")) {
			flags = NI_BPF_F_BEFORE, relative_id = 0, placement++;
			continue;
		}
		if (!strcmp(a, "--last")) {
			flags = NI_BPF_F_AFTER, relative_id = 0, placement++;
			continue;
		}
		if (!v)
			fail(2, "tcx-attach: '%s' needs a value or is unknown", a);
		if (!strcmp(a, "--prog-pin"))
			prog_pin = v;
		else if (!strcmp(a, "--dev"))
			dev = v;
		else if (!strcmp(a, "--dir"))
			dir = v;
		else if (!strcmp(a, "--link-pin"))
			link_pin = v;
		else if (!strcmp(a, "--before-prog-id"))
			flags = NI_BPF_F_BEFORE | NI_BPF_F_ID, relative_id = parse_id(a, v), placement++;
		else if (!strcmp(a, "--after-prog-id"))
			flags = NI_BPF_F_AFTER | NI_BPF_F_ID, relative_id = parse_id(a, v), placement++;
		else
			fail(2, "tcx-attach: unknown argument '%s'", a);
		i++;
	}
	if (!prog_pin || !dev || !dir || !link_pin)
		fail(2, "tcx-attach: usage: tcx-attach --prog-pin PATH --dev NAME --dir ingress|egress --link-pin PATH "
			"[--before-prog-id N|--after-prog-id N|--first|--last]");
	if (placement > 1)
		fail(2, "tcx-attach: give at most one of --before-prog-id, --after-prog-id, --first, --last");
	if (!strcmp(dir, "ingress"))
		attach_type = NI_BPF_TCX_INGRESS;
	else if (!strcmp(dir, "egress"))
		attach_type = NI_BPF_TCX_EGRESS;
	else
		fail(2, "tcx-attach: --dir must be ingress or egress, got '%s'", dir);

	ifindex = if_nametoindex(dev);
	if (!ifindex)
		fail(1, "tcx-attach: no such device '%s' in this network namespace", dev);

	memset(&oattr, 0, sizeof(oattr));
	oattr.pathname = ptr_to_u64(prog_pin);
	prog_fd = (int)sys_bpf(NI_BPF_OBJ_GET, &oattr, sizeof(oattr));
	if (prog_fd < 0)
		fail(1, "tcx-attach: BPF_OBJ_GET %s: %s", prog_pin, strerror(errno));

	memset(&lattr, 0, sizeof(lattr));
	lattr.prog_fd = (uint32_t)prog_fd;
	lattr.target_ifindex = ifindex;
	lattr.attach_type = attach_type;
	lattr.flags = flags;
	lattr.relative_id = relative_id;
	link_fd = (int)sys_bpf(NI_BPF_LINK_CREATE, &lattr, sizeof(lattr));
	if (link_fd < 0) {
		int e = errno;
		fail(1, "tcx-attach: BPF_LINK_CREATE %s on %s: %s%s", attach_type == NI_BPF_TCX_INGRESS ? "tcx_ingress" : "tcx_egress",
		     dev, strerror(e), e == EINVAL ? " (kernel without tcx, or not a sched_cls program)" : "");
	}

	memset(&linfo, 0, sizeof(linfo));
	memset(&iattr, 0, sizeof(iattr));
	iattr.bpf_fd = (uint32_t)link_fd;
	iattr.info_len = sizeof(linfo);
	iattr.info = ptr_to_u64(&linfo);
	if (sys_bpf(NI_BPF_OBJ_GET_INFO_BY_FD, &iattr, sizeof(iattr)) < 0)
		fail(1, "tcx-attach: BPF_OBJ_GET_INFO_BY_FD (link): %s", strerror(errno));

	memset(&oattr, 0, sizeof(oattr));
	oattr.pathname = ptr_to_u64(link_pin);
	oattr.bpf_fd = (uint32_t)link_fd;
	if (sys_bpf(NI_BPF_OBJ_PIN, &oattr, sizeof(oattr)) < 0)
		fail(1, "tcx-attach: BPF_OBJ_PIN %s: %s (the link is released on exit)", link_pin, strerror(errno));

	printf("{\"prog_id\":%u,\"link_id\":%u,\"ifindex\":%u,\"attach_type\":\"%s\"}\n", linfo.prog_id, linfo.id, ifindex,
	       attach_type == NI_BPF_TCX_INGRESS ? "tcx_ingress" : "tcx_egress");
	close(link_fd);
	close(prog_fd);
	return 0;
}

/* ---- netns-dump ----------------------------------------------------------------------------- */

/*
 * netns-dump NAME...: the links, addresses and routes of the named network namespaces, in ONE process.
 *
 * For each NAME: open /run/netns/NAME, check that it is an nsfs file (a live namespace bind-mounted there by
 * `ip netns add`; fs/nsfs.c, NSFS_MAGIC in include/uapi/linux/magic.h), setns(fd, CLONE_NEWNET), and only then open
 * the rtnetlink socket: a netlink socket belongs to the netns of the task that created it (sock_net() is set at
 * socket(2) time, net/netlink/af_netlink.c), so one socket per namespace. Then RTM_GETLINK, RTM_GETADDR and
 * RTM_GETROUTE dumps (rtnetlink(7)). A stale /run/netns entry (the namespace is gone and the name is a plain
 * file, or an unmounted bind point) fails the nsfs check; a namespace that cannot be entered gives one
 * error object and the next name is tried. setns(2) with CLONE_NEWNET needs CAP_SYS_ADMIN both in the caller's
 * user namespace and in the one owning the target (netns_install(), net/core/net_namespace.c): EPERM for one
 * name means EPERM for every other, so the first EPERM ends the walk, reported once.
 *
 * Keys follow `ip -j -d addr show` and `ip -j route show` (iproute2) so the same parsers read them.
 */

#ifndef NSFS_MAGIC
#define NSFS_MAGIC 0x6e736673 /* include/uapi/linux/magic.h */
#endif
#ifndef IFF_LOWER_UP
#define IFF_LOWER_UP 0x10000
#endif
#ifndef IFF_DORMANT
#define IFF_DORMANT 0x20000
#endif
#ifndef IFF_ECHO
#define IFF_ECHO 0x40000
#endif

#define NL_BUF (256 * 1024)

struct ns_link {
	int ifindex;
	char name[IFNAMSIZ + 1];
	unsigned int flags;
	unsigned short type;
	int mtu;
	int operstate;                /* -1: absent */
	unsigned char mac[32];
	int maclen;
	int link;                     /* IFLA_LINK, 0: absent */
	int has_nsid;
	int nsid;                     /* IFLA_LINK_NETNSID */
	int master;
	char kind[32];
	char slave_kind[32];
	char *addrs;                  /* JSON objects, comma-separated */
	size_t addrs_len;
	FILE *af;
	int naddrs;
};

struct ns_dump {
	struct ns_link *links;
	size_t nlinks;
	FILE *out;                    /* this namespace's JSON, written only if every dump succeeded */
	int nroutes;
	int family;                   /* the family of the route dump going on */
};

static unsigned char nl_buf[NL_BUF];

/* A dump's per-message callback: 0 to go on, or a positive errno that ends the dump. */
typedef int (*nl_msg_cb)(const struct nlmsghdr *, void *);

/* One dump: send the request, read until NLMSG_DONE. Returns 0 or a positive errno. */
static int nl_dump(int fd, uint16_t type, const void *body, size_t body_len, uint32_t seq,
		   nl_msg_cb cb, void *arg, int *interrupted)
{
	struct {
		struct nlmsghdr nh;
		unsigned char body[64];
	} req;
	struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};

	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_len = NLMSG_LENGTH(body_len);
	req.nh.nlmsg_type = type;
	req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	req.nh.nlmsg_seq = seq;
	memcpy(req.body, body, body_len);
	while (sendto(fd, &req, req.nh.nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0)
		if (errno != EINTR)
			return errno;
	for (;;) {
		struct iovec iov = {.iov_base = nl_buf, .iov_len = sizeof(nl_buf)};
		struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
		ssize_t n = recvmsg(fd, &msg, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN ? ETIMEDOUT : errno;
		}
		if (msg.msg_flags & MSG_TRUNC)
			return EMSGSIZE;
		for (struct nlmsghdr *h = (struct nlmsghdr *)nl_buf; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_seq != seq)
				continue;
			if (h->nlmsg_flags & NLM_F_DUMP_INTR)
				*interrupted = 1;
			/*
			 * NLMSG_DONE carries the dump callback's last return (net/netlink/af_netlink.c netlink_dump_done):
			 * 0 at the end of the list, a negative errno when the dump failed part way.
			 */
			if (h->nlmsg_type == NLMSG_DONE) {
				int done = 0;

				if (h->nlmsg_len >= NLMSG_LENGTH(sizeof(done)))
					memcpy(&done, NLMSG_DATA(h), sizeof(done));
				return done < 0 ? -done : 0;
			}
			if (h->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(h);
				return e->error ? -e->error : 0;
			}
			int r = cb(h, arg);
			if (r)
				return r;
		}
	}
}

static struct ns_link *link_by_index(struct ns_dump *d, int ifindex)
{
	for (size_t i = 0; i < d->nlinks; i++)
		if (d->links[i].ifindex == ifindex)
			return &d->links[i];
	return NULL;
}

static void attr_string(char *dst, size_t size, const struct rtattr *a)
{
	size_t n = RTA_PAYLOAD(a);

	if (n >= size)
		n = size - 1;
	memcpy(dst, RTA_DATA(a), n);
	dst[n] = '\0';
}

static int on_link(const struct nlmsghdr *h, void *arg)
{
	struct ns_dump *d = arg;
	const struct ifinfomsg *ifi = NLMSG_DATA(h);
	int len = (int)h->nlmsg_len - NLMSG_LENGTH(sizeof(*ifi));
	struct ns_link *l;

	if (h->nlmsg_type != RTM_NEWLINK || len < 0)
		return 0;
	d->links = realloc(d->links, (d->nlinks + 1) * sizeof(*d->links));
	if (!d->links)
		return ENOMEM;
	l = &d->links[d->nlinks++];
	memset(l, 0, sizeof(*l));
	l->ifindex = ifi->ifi_index;
	l->flags = ifi->ifi_flags;
	l->type = ifi->ifi_type;
	l->operstate = -1;
	for (const struct rtattr *a = IFLA_RTA(ifi); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		switch (a->rta_type) {
		case IFLA_IFNAME: attr_string(l->name, sizeof(l->name), a); break;
		case IFLA_MTU: l->mtu = *(const int *)RTA_DATA(a); break;
		case IFLA_OPERSTATE: l->operstate = *(const unsigned char *)RTA_DATA(a); break;
		case IFLA_LINK: l->link = *(const int *)RTA_DATA(a); break;
		case IFLA_LINK_NETNSID: l->has_nsid = 1, l->nsid = *(const int *)RTA_DATA(a); break;
		case IFLA_MASTER: l->master = *(const int *)RTA_DATA(a); break;
		case IFLA_ADDRESS:
			l->maclen = RTA_PAYLOAD(a) > sizeof(l->mac) ? (int)sizeof(l->mac) : (int)RTA_PAYLOAD(a);
			memcpy(l->mac, RTA_DATA(a), (size_t)l->maclen);
			break;
		case IFLA_LINKINFO: {
			int ilen = (int)RTA_PAYLOAD(a);
			for (const struct rtattr *i = RTA_DATA(a); RTA_OK(i, ilen); i = RTA_NEXT(i, ilen)) {
				if (i->rta_type == IFLA_INFO_KIND)
					attr_string(l->kind, sizeof(l->kind), i);
				else if (i->rta_type == IFLA_INFO_SLAVE_KIND)
					attr_string(l->slave_kind, sizeof(l->slave_kind), i);
			}
			break;
		}
		}
	}
	return 0;
}

static const char *scope_name(unsigned int s, char *buf, size_t size)
{
	/* iproute2's names (lib/rt_names.c rtnl_rtscope_n2a). */
	switch (s) {
	case RT_SCOPE_UNIVERSE: return "global";
	case RT_SCOPE_SITE: return "site";
	case RT_SCOPE_LINK: return "link";
	case RT_SCOPE_HOST: return "host";
	case RT_SCOPE_NOWHERE: return "nowhere";
	}
	snprintf(buf, size, "%u", s);
	return buf;
}

static int on_addr(const struct nlmsghdr *h, void *arg)
{
	struct ns_dump *d = arg;
	const struct ifaddrmsg *ifa = NLMSG_DATA(h);
	int len = (int)h->nlmsg_len - NLMSG_LENGTH(sizeof(*ifa));
	const void *local = NULL, *address = NULL;
	char text[INET6_ADDRSTRLEN], sbuf[16];
	struct ns_link *l;

	if (h->nlmsg_type != RTM_NEWADDR || len < 0 || (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6))
		return 0;
	for (const struct rtattr *a = IFA_RTA(ifa); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if (a->rta_type == IFA_LOCAL)
			local = RTA_DATA(a);
		else if (a->rta_type == IFA_ADDRESS)
			address = RTA_DATA(a);
	}
	/* IFA_LOCAL is the address itself; IFA_ADDRESS is the peer on point-to-point links, and the only one for IPv6. */
	if (!local)
		local = address;
	l = link_by_index(d, (int)ifa->ifa_index);
	if (!local || !l || !inet_ntop(ifa->ifa_family, local, text, sizeof(text)))
		return 0;
	/* Opened here, once the link dump is over: open_memstream keeps pointers into d->links, which on_link reallocs. */
	if (!l->af && !(l->af = open_memstream(&l->addrs, &l->addrs_len)))
		return ENOMEM;
	fprintf(l->af, "%s{\"family\":\"%s\",\"local\":\"%s\",\"prefixlen\":%u,\"scope\":\"%s\"}", l->naddrs++ ? "," : "",
		ifa->ifa_family == AF_INET ? "inet" : "inet6", text, ifa->ifa_prefixlen,
		scope_name(ifa->ifa_scope, sbuf, sizeof(sbuf)));
	return 0;
}

static void print_name_or_number(FILE *f, const char *key, const char *name, unsigned int n)
{
	if (name)
		fprintf(f, ",\"%s\":\"%s\"", key, name);
	else
		fprintf(f, ",\"%s\":\"%u\"", key, n);
}

static const char *table_name(unsigned int t)
{
	switch (t) {
	case RT_TABLE_MAIN: return "main";
	case RT_TABLE_LOCAL: return "local";
	case RT_TABLE_DEFAULT: return "default";
	}
	return NULL;
}

static const char *route_type_name(unsigned int t)
{
	static const char *const names[] = {"unspec", "unicast", "local", "broadcast", "anycast", "multicast",
					    "blackhole", "unreachable", "prohibit", "throw", "nat", "xresolve"};
	return t < sizeof(names) / sizeof(names[0]) ? names[t] : NULL;
}

static const char *protocol_name(unsigned int p)
{
	/* include/uapi/linux/rtnetlink.h RTPROT_*, named as iproute2's /etc/iproute2/rt_protos. */
	switch (p) {
	case RTPROT_UNSPEC: return "unspec";
	case RTPROT_REDIRECT: return "redirect";
	case RTPROT_KERNEL: return "kernel";
	case RTPROT_BOOT: return "boot";
	case RTPROT_STATIC: return "static";
	case RTPROT_RA: return "ra";
	case RTPROT_DHCP: return "dhcp";
	case RTPROT_BIRD: return "bird";
	case RTPROT_BGP: return "bgp";
	case RTPROT_ISIS: return "isis";
	case RTPROT_OSPF: return "ospf";
	case RTPROT_RIP: return "rip";
	case RTPROT_EIGRP: return "eigrp";
	}
	return NULL;
}

static void print_dev(FILE *f, const char *key, struct ns_dump *d, int ifindex)
{
	struct ns_link *l = link_by_index(d, ifindex);

	if (l) {
		fprintf(f, ",\"%s\":", key);
		json_string(f, l->name);
	} else {
		fprintf(f, ",\"%s\":\"if%d\"", key, ifindex);
	}
}

static int on_route(const struct nlmsghdr *h, void *arg)
{
	struct ns_dump *d = arg;
	const struct rtmsg *rtm = NLMSG_DATA(h);
	int len = (int)h->nlmsg_len - NLMSG_LENGTH(sizeof(*rtm));
	const void *dst = NULL, *gw = NULL, *prefsrc = NULL;
	const struct rtattr *mp = NULL;
	unsigned int table = rtm->rtm_table, metric = 0;
	int oif = 0, has_metric = 0;
	char text[INET6_ADDRSTRLEN];
	FILE *f = d->out;

	if (h->nlmsg_type != RTM_NEWROUTE || len < 0 || rtm->rtm_family != d->family)
		return 0;
	/* Cloned (cache) entries are not routes: `ip route show` leaves them out too. */
	if (rtm->rtm_flags & RTM_F_CLONED)
		return 0;
	for (const struct rtattr *a = RTM_RTA(rtm); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		switch (a->rta_type) {
		case RTA_DST: dst = RTA_DATA(a); break;
		case RTA_GATEWAY: gw = RTA_DATA(a); break;
		case RTA_PREFSRC: prefsrc = RTA_DATA(a); break;
		case RTA_OIF: oif = *(const int *)RTA_DATA(a); break;
		case RTA_TABLE: table = *(const unsigned int *)RTA_DATA(a); break;
		case RTA_PRIORITY: metric = *(const unsigned int *)RTA_DATA(a), has_metric = 1; break;
		case RTA_MULTIPATH: mp = a; break;
		}
	}
	fprintf(f, "%s{\"family\":\"%s\",\"dst\":", d->nroutes++ ? "," : "", rtm->rtm_family == AF_INET ? "inet" : "inet6");
	/* As iproute2 prints it: "default", a host route without its /32 or /128, else PREFIX/LEN. */
	if (!dst)
		fputs(rtm->rtm_dst_len == 0 ? "\"default\"" : "\"?\"", f);
	else if (inet_ntop(rtm->rtm_family, dst, text, sizeof(text)))
		fprintf(f, rtm->rtm_dst_len == (rtm->rtm_family == AF_INET ? 32 : 128) ? "\"%s\"" : "\"%s/%u\"", text, rtm->rtm_dst_len);
	print_name_or_number(f, "type", route_type_name(rtm->rtm_type), rtm->rtm_type);
	print_name_or_number(f, "table", table_name(table), table);
	print_name_or_number(f, "protocol", protocol_name(rtm->rtm_protocol), rtm->rtm_protocol);
	if (rtm->rtm_scope != RT_SCOPE_UNIVERSE) {
		char sbuf[16];
		fprintf(f, ",\"scope\":\"%s\"", scope_name(rtm->rtm_scope, sbuf, sizeof(sbuf)));
	}
	if (gw && inet_ntop(rtm->rtm_family, gw, text, sizeof(text)))
		fprintf(f, ",\"gateway\":\"%s\"", text);
	if (oif)
		print_dev(f, "dev", d, oif);
	if (prefsrc && inet_ntop(rtm->rtm_family, prefsrc, text, sizeof(text)))
		fprintf(f, ",\"prefsrc\":\"%s\"", text);
	if (has_metric)
		fprintf(f, ",\"metric\":%u", metric);
	/* Next-hop flags as iproute2 names them (ip/iproute.c print_rt_flags). */
	fputs(",\"flags\":[", f);
	{
		static const struct {
			unsigned int bit;
			const char *name;
		} rt_flags[] = {{RTNH_F_DEAD, "dead"}, {RTNH_F_ONLINK, "onlink"}, {RTNH_F_PERVASIVE, "pervasive"},
				{RTNH_F_LINKDOWN, "linkdown"}};
		int nfl = 0;
		for (size_t i = 0; i < sizeof(rt_flags) / sizeof(rt_flags[0]); i++)
			if (rtm->rtm_flags & rt_flags[i].bit)
				fprintf(f, "%s\"%s\"", nfl++ ? "," : "", rt_flags[i].name);
	}
	fputc(']', f);
	if (mp) {
		/* ECMP: each next hop is a struct rtnexthop followed by its own attributes (RTA_GATEWAY). */
		int mlen = (int)RTA_PAYLOAD(mp), first = 1;
		fputs(",\"nexthops\":[", f);
		for (const struct rtnexthop *nh = RTA_DATA(mp); mlen >= (int)sizeof(*nh) && nh->rtnh_len >= sizeof(*nh) && nh->rtnh_len <= mlen;
		     mlen -= NLMSG_ALIGN(nh->rtnh_len), nh = RTNH_NEXT(nh)) {
			int alen = nh->rtnh_len - (int)sizeof(*nh);
			fprintf(f, "%s{\"weight\":%u", first ? "" : ",", nh->rtnh_hops + 1);
			print_dev(f, "dev", d, nh->rtnh_ifindex);
			for (const struct rtattr *a = RTNH_DATA(nh); RTA_OK(a, alen); a = RTA_NEXT(a, alen))
				if (a->rta_type == RTA_GATEWAY && inet_ntop(rtm->rtm_family, RTA_DATA(a), text, sizeof(text)))
					fprintf(f, ",\"gateway\":\"%s\"", text);
			fputc('}', f);
			first = 0;
		}
		fputc(']', f);
	}
	fputc('}', f);
	return 0;
}

static const char *link_type_name(unsigned short t, char *buf, size_t size)
{
	/* iproute2's names for the ARPHRD_* values whose kind matters (lib/ll_types.c). */
	switch (t) {
	case ARPHRD_ETHER: return "ether";
	case ARPHRD_LOOPBACK: return "loopback";
	case ARPHRD_NONE: return "none";
	case ARPHRD_TUNNEL: return "ipip";
	case ARPHRD_SIT: return "sit";
	case ARPHRD_IPGRE: return "gre";
	case ARPHRD_TUNNEL6: return "tunnel6";
	}
	snprintf(buf, size, "[%u]", t);
	return buf;
}

static void print_link(FILE *f, struct ns_dump *d, struct ns_link *l, int first)
{
	/* The order iproute2 prints them in (ip/ipaddress.c print_link_flags). */
	static const struct {
		unsigned int bit;
		const char *name;
	} flag_names[] = {
		{IFF_LOOPBACK, "LOOPBACK"}, {IFF_BROADCAST, "BROADCAST"}, {IFF_POINTOPOINT, "POINTOPOINT"},
		{IFF_MULTICAST, "MULTICAST"}, {IFF_NOARP, "NOARP"}, {IFF_ALLMULTI, "ALLMULTI"}, {IFF_PROMISC, "PROMISC"},
		{IFF_MASTER, "MASTER"}, {IFF_SLAVE, "SLAVE"}, {IFF_DEBUG, "DEBUG"}, {IFF_DYNAMIC, "DYNAMIC"},
		{IFF_AUTOMEDIA, "AUTOMEDIA"}, {IFF_PORTSEL, "PORTSEL"}, {IFF_NOTRAILERS, "NOTRAILERS"}, {IFF_UP, "UP"},
		{IFF_LOWER_UP, "LOWER_UP"}, {IFF_DORMANT, "DORMANT"}, {IFF_ECHO, "ECHO"},
	};
	static const char *const operstates[] = {"UNKNOWN", "NOTPRESENT", "DOWN", "LOWERLAYERDOWN", "TESTING", "DORMANT", "UP"};
	char tbuf[16];
	int nf = 0;

	fprintf(f, "%s{\"ifindex\":%d,\"ifname\":", first ? "" : ",", l->ifindex);
	json_string(f, l->name);
	fputs(",\"flags\":[", f);
	if ((l->flags & IFF_UP) && !(l->flags & IFF_RUNNING))
		fputs(nf++ ? ",\"NO-CARRIER\"" : "\"NO-CARRIER\"", f);
	for (size_t i = 0; i < sizeof(flag_names) / sizeof(flag_names[0]); i++)
		if (l->flags & flag_names[i].bit)
			fprintf(f, "%s\"%s\"", nf++ ? "," : "", flag_names[i].name);
	fputc(']', f);
	if (l->mtu)
		fprintf(f, ",\"mtu\":%d", l->mtu);
	if (l->operstate >= 0 && l->operstate < (int)(sizeof(operstates) / sizeof(operstates[0])))
		fprintf(f, ",\"operstate\":\"%s\"", operstates[l->operstate]);
	fprintf(f, ",\"link_type\":\"%s\"", link_type_name(l->type, tbuf, sizeof(tbuf)));
	if (l->maclen > 0) {
		fputs(",\"address\":\"", f);
		for (int i = 0; i < l->maclen; i++)
			fprintf(f, "%s%02x", i ? ":" : "", l->mac[i]);
		fputc('"', f);
	}
	if (l->master) {
		struct ns_link *m = link_by_index(d, l->master);
		if (m) {
			fputs(",\"master\":", f);
			json_string(f, m->name);
		}
	}
	/*
	 * As `ip -j -d` shows a peer (docs/kernel-notes.md#kn-2-veth-peer-fields): in another netns, link_index plus link_netnsid (the nsid as seen from
	 * this netns); in the same netns, the peer's name as "link".
	 */
	if (l->has_nsid) {
		if (l->link)
			fprintf(f, ",\"link_index\":%d", l->link);
		fprintf(f, ",\"link_netnsid\":%d", l->nsid);
	} else if (l->link && l->link != l->ifindex) {
		struct ns_link *p = link_by_index(d, l->link);
		if (p) {
			fputs(",\"link\":", f);
			json_string(f, p->name);
		} else {
			fprintf(f, ",\"link_index\":%d", l->link);
		}
	}
	if (l->kind[0] || l->slave_kind[0]) {
		fputs(",\"linkinfo\":{", f);
		if (l->kind[0]) {
			fputs("\"info_kind\":", f);
			json_string(f, l->kind);
		}
		if (l->slave_kind[0]) {
			fputs(l->kind[0] ? ",\"info_slave_kind\":" : "\"info_slave_kind\":", f);
			json_string(f, l->slave_kind);
		}
		fputc('}', f);
	}
	if (l->af)
		fflush(l->af);
	fprintf(f, ",\"addr_info\":[%.*s]}", l->af ? (int)l->addrs_len : 0, l->addrs ? l->addrs : "");
}

static void free_dump(struct ns_dump *d)
{
	for (size_t i = 0; i < d->nlinks; i++) {
		if (d->links[i].af)
			fclose(d->links[i].af);
		free(d->links[i].addrs);
	}
	free(d->links);
	memset(d, 0, sizeof(*d));
}

/* Links, then addresses (attached to their link), then IPv4 and IPv6 routes of every table. Returns 0 or an errno. */
static int dump_current_netns(FILE *out, const char **what)
{
	struct ns_dump d = {0};
	struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC};
	struct ifaddrmsg ifa = {.ifa_family = AF_UNSPEC};
	struct rtmsg rtm;
	struct timeval tv = {.tv_sec = 5};
	char *body = NULL;
	size_t blen = 0;
	int fd, err = 0, interrupted = 0;
	static const int families[] = {AF_INET, AF_INET6};

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0) {
		*what = "socket(NETLINK_ROUTE)";
		return errno;
	}
	/* Never wait forever on the kernel: a dump that stops answering is reported, not waited on. */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	*what = "RTM_GETLINK";
	err = nl_dump(fd, RTM_GETLINK, &ifi, sizeof(ifi), 1, on_link, &d, &interrupted);
	if (!err) {
		*what = "RTM_GETADDR";
		err = nl_dump(fd, RTM_GETADDR, &ifa, sizeof(ifa), 2, on_addr, &d, &interrupted);
	}
	if (!err) {
		d.out = open_memstream(&body, &blen);
		if (!d.out)
			err = ENOMEM;
	}
	if (!err) {
		fputs(",\"links\":[", d.out);
		for (size_t i = 0; i < d.nlinks; i++)
			print_link(d.out, &d, &d.links[i], i == 0);
		fputs("],\"routes\":[", d.out);
		for (unsigned int i = 0; i < 2 && !err; i++) {
			memset(&rtm, 0, sizeof(rtm));
			rtm.rtm_family = (unsigned char)families[i];
			d.family = families[i];
			*what = i == 0 ? "RTM_GETROUTE (IPv4)" : "RTM_GETROUTE (IPv6)";
			err = nl_dump(fd, RTM_GETROUTE, &rtm, sizeof(rtm), 3 + i, on_route, &d, &interrupted);
			/* A kernel without IPv6 has no AF_INET6 routing: nothing to list, not an error. */
			if (err == EAFNOSUPPORT && families[i] == AF_INET6)
				err = 0;
		}
		fputc(']', d.out);
		if (interrupted)
			fputs(",\"dump_interrupted\":true", d.out);
		fclose(d.out);
	}
	if (!err)
		fwrite(body, 1, blen, out);
	free(body);
	free_dump(&d);
	close(fd);
	return err;
}

static int valid_netns_name(const char *s)
{
	/* A name under /run/netns (iproute2 refuses '/' and the dot entries): never a path. */
	return *s && strcmp(s, ".") && strcmp(s, "..") && !strchr(s, '/') && strlen(s) < 256;
}

static void netns_error(int *first, const char *name, int err, const char *kind, const char *message)
{
	printf("%s{\"netns\":", *first ? "" : ",");
	json_string(stdout, name);
	printf(",\"error\":\"%s\",\"errno\":%d,\"message\":", kind, err);
	json_string(stdout, message);
	putchar('}');
	*first = 0;
}

static int cmd_netns_dump(int argc, char **argv)
{
	int first = 1, stopped = 0, unread = 0;
	char msg[512];

	for (int i = 0; i < argc; i++)
		if (!valid_netns_name(argv[i]))
			fail(2, "netns-dump: '%s' is not a netns name (usage: netns-dump NAME...)", argv[i]);
	printf("{\"helper\":\"%s\",\"version\":%d,\"netns\":[", HELPER_NAME, HELPER_VERSION);
	for (int i = 0; i < argc; i++) {
		const char *name = argv[i];
		char path[300];
		struct statfs sfs;
		const char *what = "";
		int fd, err;

		if (stopped) {
			unread++;
			continue;
		}
		snprintf(path, sizeof(path), "/run/netns/%s", name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			err = errno;
			snprintf(msg, sizeof(msg), "open %s: %s", path, strerror(err));
			netns_error(&first, name, err, err == ENOENT ? "missing" : err == EACCES || err == EPERM ? "permission" : "open", msg);
			continue;
		}
		if (fstatfs(fd, &sfs) < 0 || sfs.f_type != NSFS_MAGIC) {
			/* The bind mount is gone: what is left is the mount point, a plain file on /run's own filesystem. */
			snprintf(msg, sizeof(msg), "%s is not a namespace (stale: its bind mount is gone, f_type 0x%lx)", path,
				 (unsigned long)sfs.f_type);
			netns_error(&first, name, EINVAL, "stale", msg);
			close(fd);
			continue;
		}
		if (setns(fd, CLONE_NEWNET) < 0) {
			err = errno;
			if (err == EPERM) {
				snprintf(msg, sizeof(msg), "setns %s: %s (entering a network namespace needs CAP_SYS_ADMIN)", path, strerror(err));
				netns_error(&first, name, err, "permission", msg);
				stopped = 1;
			} else {
				/* EINVAL: an nsfs file of another namespace type (e.g. a mount or pid namespace bound there). */
				snprintf(msg, sizeof(msg), "setns %s: %s%s", path, strerror(err), err == EINVAL ? " (not a network namespace)" : "");
				netns_error(&first, name, err, err == EINVAL ? "stale" : "setns", msg);
			}
			close(fd);
			continue;
		}
		close(fd);
		printf("%s{\"netns\":", first ? "" : ",");
		json_string(stdout, name);
		err = dump_current_netns(stdout, &what);
		if (err) {
			snprintf(msg, sizeof(msg), "%s: %s", what, strerror(err));
			printf(",\"error\":\"netlink\",\"errno\":%d,\"message\":", err);
			json_string(stdout, msg);
		}
		putchar('}');
		first = 0;
	}
	printf("]");
	if (stopped)
		printf(",\"stopped\":{\"reason\":\"permission\",\"unread\":%d}", unread);
	printf("}\n");
	return 0;
}

/* ---- nft-tables ------------------------------------------------------------------------------- */

/*
 * nft-tables: the nf_tables tables of the current network namespace, in the kernel's order, in one small dump.
 *
 * One NFT_MSG_GETTABLE request with NLM_F_DUMP and nfgenmsg family NFPROTO_UNSPEC (every family) on a
 * NETLINK_NETFILTER socket. The kernel walks the netns's table list (net/netfilter/nf_tables_api.c
 * nf_tables_dump_tables), to which nf_tables_newtable appends each new table: the order is the order the tables
 * were made (docs/kernel-notes.md#kn-27-equal-priority-order). One NFT_MSG_NEWTABLE message per table
 * (nf_tables_fill_table_info): NFTA_TABLE_NAME, NFTA_TABLE_FLAGS (be32), NFTA_TABLE_USE (be32), NFTA_TABLE_HANDLE
 * (be64); the family is the message's nfgenmsg. `nft -j list chains` gives the same tables only after fetching and
 * printing every chain (docs/kernel-notes.md#kn-29-nft-table-list).
 *
 * NFTA_TABLE_USE is table->use. The UAPI header calls it the number of chains, but nf_tables_newset,
 * nf_tables_newobj and nf_tables_newflowtable count in it as nf_tables_addchain does: printed as "use", what it
 * is. On 6.18 here a named set and a counter each added one, a rule's anonymous set none.
 *
 * A kernel without nf_tables is an answer, not an error: no table can exist there. socket(NETLINK_NETFILTER)
 * fails with EPROTONOSUPPORT without nfnetlink (net/netlink/af_netlink.c netlink_create), and nfnetlink answers
 * EINVAL for a subsystem nobody registered (net/netfilter/nfnetlink.c nfnetlink_rcv_msg, after asking for the
 * module nfnetlink-subsys-10): "supported":false, no table, and a note. Like nft, the socket and the request load
 * those modules where they can. Every nfnetlink message needs CAP_NET_ADMIN in the netns (nfnetlink_rcv): EPERM
 * is an error. A commit during the dump changes nft_net->base_seq, and nl_dump_check_consistent flags the dump
 * NLM_F_DUMP_INTR: it is read again (libmnl turns the flag into EINTR, on which nft refetches its cache), and
 * "dump_interrupted":true says it never came whole.
 */

#define NI_NFT_DUMP_TRIES 5

struct nft_tables_dump {
	FILE *out;
	unsigned int count;
};

/* nft's names for the nfgenmsg families (include/uapi/linux/netfilter.h NFPROTO_*). */
static const char *nfproto_name(unsigned int family)
{
	switch (family) {
	case NFPROTO_INET: return "inet";
	case NFPROTO_IPV4: return "ip";
	case NFPROTO_ARP: return "arp";
	case NFPROTO_NETDEV: return "netdev";
	case NFPROTO_BRIDGE: return "bridge";
	case NFPROTO_IPV6: return "ip6";
	}
	return NULL;
}

static int on_table(const struct nlmsghdr *h, void *arg)
{
	struct nft_tables_dump *t = arg;
	const struct nfgenmsg *g = NLMSG_DATA(h);
	int len = (int)h->nlmsg_len - NLMSG_LENGTH(sizeof(*g));
	const struct nlattr *a = (const void *)((const char *)g + NLMSG_ALIGN(sizeof(*g)));
	char name[NFT_TABLE_MAXNAMELEN + 1] = "";
	uint32_t use = 0, flags = 0, be32;
	uint64_t handle = 0, be64;
	int has_use = 0, has_flags = 0, has_handle = 0;
	const char *family;

	if (h->nlmsg_type != ((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWTABLE) || len < 0)
		return 0;
	for (; len >= NLA_HDRLEN && a->nla_len >= NLA_HDRLEN && a->nla_len <= len;
	     len -= NLA_ALIGN(a->nla_len), a = (const void *)((const char *)a + NLA_ALIGN(a->nla_len))) {
		const char *v = (const char *)a + NLA_HDRLEN;
		size_t plen = a->nla_len - NLA_HDRLEN;

		switch (a->nla_type & NLA_TYPE_MASK) {
		case NFTA_TABLE_NAME:
			plen = strnlen(v, plen < sizeof(name) - 1 ? plen : sizeof(name) - 1);
			memcpy(name, v, plen);
			name[plen] = '\0';
			break;
		case NFTA_TABLE_FLAGS:
			if (plen >= sizeof(be32))
				memcpy(&be32, v, sizeof(be32)), flags = ntohl(be32), has_flags = 1;
			break;
		case NFTA_TABLE_USE:
			if (plen >= sizeof(be32))
				memcpy(&be32, v, sizeof(be32)), use = ntohl(be32), has_use = 1;
			break;
		case NFTA_TABLE_HANDLE:
			if (plen >= sizeof(be64))
				memcpy(&be64, v, sizeof(be64)), handle = be64toh(be64), has_handle = 1;
			break;
		}
	}
	fprintf(t->out, "%s{\"family\":", t->count++ ? "," : "");
	family = nfproto_name(g->nfgen_family);
	if (family)
		fprintf(t->out, "\"%s\"", family);
	else
		fprintf(t->out, "%u", g->nfgen_family);
	fputs(",\"name\":", t->out);
	json_string(t->out, name);
	if (has_handle)
		fprintf(t->out, ",\"handle\":%llu", (unsigned long long)handle);
	if (has_use)
		fprintf(t->out, ",\"use\":%u", use);
	if (has_flags)
		fprintf(t->out, ",\"flags\":%u", flags);
	fputc('}', t->out);
	return 0;
}

static void print_nft_unsupported(int err, const char *note)
{
	printf("{\"helper\":\"%s\",\"version\":%d,\"supported\":false,\"errno\":%d,\"note\":", HELPER_NAME, HELPER_VERSION, err);
	json_string(stdout, note);
	printf(",\"tables\":[]}\n");
}

static int cmd_nft_tables(int argc, char **argv)
{
	struct nfgenmsg g = {.nfgen_family = NFPROTO_UNSPEC, .version = NFNETLINK_V0};
	struct timeval tv = {.tv_sec = 5};
	struct nft_tables_dump t;
	char *body = NULL, note[256];
	size_t blen = 0;
	int fd, err = 0, interrupted = 0;

	if (argc > 0)
		fail(2, "nft-tables: unknown argument '%s' (usage: nft-tables)", argv[0]);
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
	if (fd < 0) {
		err = errno;
		if (err == EPROTONOSUPPORT) {
			snprintf(note, sizeof(note), "socket(NETLINK_NETFILTER): %s: this kernel has no nfnetlink, so no nf_tables table", strerror(err));
			print_nft_unsupported(err, note);
			return 0;
		}
		fail(1, "socket(NETLINK_NETFILTER): %s", strerror(err));
	}
	/* Never wait forever on the kernel, as for the rtnetlink dumps. */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	for (int attempt = 0; attempt < NI_NFT_DUMP_TRIES; attempt++) {
		free(body);
		body = NULL;
		blen = 0;
		memset(&t, 0, sizeof(t));
		t.out = open_memstream(&body, &blen);
		if (!t.out)
			fail(1, "out of memory");
		interrupted = 0;
		err = nl_dump(fd, (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETTABLE, &g, sizeof(g), (uint32_t)attempt + 1, on_table, &t, &interrupted);
		fclose(t.out);
		if (err || !interrupted)
			break;
	}
	close(fd);
	if (err == EINVAL) {
		snprintf(note, sizeof(note), "NFT_MSG_GETTABLE: %s: nfnetlink has no nf_tables subsystem in this kernel, so no nf_tables table", strerror(err));
		print_nft_unsupported(err, note);
		free(body);
		return 0;
	}
	if (err)
		fail(1, "NFT_MSG_GETTABLE: %s%s", strerror(err), err == EPERM ? " (needs CAP_NET_ADMIN in this network namespace)" : "");
	printf("{\"helper\":\"%s\",\"version\":%d,\"supported\":true,\"tables\":[%.*s]", HELPER_NAME, HELPER_VERSION, (int)blen, body ? body : "");
	if (interrupted)
		printf(",\"dump_interrupted\":true");
	printf("}\n");
	free(body);
	return 0;
}

/* ---- prog-dump -------------------------------------------------------------------------------- */

/*
 * The names bpftool gives calls in an xlated dump (its xlated_dumper.c and the kernel's disasm.c, read for the
 * format only). The kernel's dump (kernel/bpf/syscall.c bpf_insn_prepare_dump) leaves a helper call's imm as the
 * verifier set it, the helper's address minus __bpf_call_base (when the reader may see raw pointers; as root it
 * may); a tail call comes back as `call` with imm BPF_FUNC_tail_call; a bpf-to-bpf call has its subprogram's index
 * in imm and the relative offset in off. disasm.c names a helper from the UAPI enum when imm is a valid helper
 * id, and asks bpftool otherwise, which looks the address up in kallsyms: an exact match of its qsort()ed
 * table (bsearch, so among aliases at one address the one bsearch lands on), else `0x<address>`.
 */

#define NI_FN_NAME(x) "bpf_" #x
static const char *const helper_names[] = {__BPF_FUNC_MAPPER(NI_FN_NAME)};
#define NI_NHELPERS ((int)(sizeof(helper_names) / sizeof(helper_names[0])))

struct ksym {
	unsigned long addr;
	const char *name;
	size_t order; /* position in /proc/kallsyms: ties keep it, as the merge sort of glibc <= 2.36 (Debian 12) qsort() does */
};

struct ksyms {
	char *text;            /* /proc/kallsyms, names NUL-terminated in place */
	struct ksym *syms;
	size_t count;
	unsigned long call_base;
	int loaded;            /* 1 once read (even if empty) */
	int err;               /* errno of the read, 0 if it worked */
};

static int ksym_cmp(const void *a, const void *b)
{
	const struct ksym *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr > y->addr ? 1 : -1;
	return x->order > y->order ? 1 : x->order < y->order ? -1 : 0;
}

/* Read /proc/kallsyms once. Symbols at address 0 (kptr_restrict, or not root) are left out, as bpftool does. */
static void ksyms_load(struct ksyms *k)
{
	size_t cap = 0, len = 0, scap = 0;
	FILE *f;

	k->loaded = 1;
	f = fopen("/proc/kallsyms", "re");
	if (!f) {
		k->err = errno;
		return;
	}
	for (;;) {
		size_t n;

		if (len + 65536 + 1 > cap) {
			char *t;

			cap = cap ? cap * 2 : 8 << 20;
			t = realloc(k->text, cap);
			if (!t)
				fail(1, "out of memory reading /proc/kallsyms");
			k->text = t;
		}
		n = fread(k->text + len, 1, 65536, f);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(f))
		k->err = errno ? errno : EIO;
	fclose(f);
	if (!k->text)
		return;
	k->text[len] = '\0';
	/* Lines: "ffffffff81000000 T _stext" or "ffffffffc0a01234 t bpf_prog_..._F\t[bpf]". */
	for (char *line = k->text; line && *line;) {
		char *next = strchr(line, '\n');
		char *end, *name, *ne;
		unsigned long addr;

		if (next)
			*next++ = '\0';
		addr = strtoul(line, &end, 16);
		if (end == line || *end != ' ' || !end[1] || end[2] != ' ')
			goto skip;
		name = end + 3;
		ne = name + strcspn(name, " \t");
		*ne = '\0';
		if (!*name)
			goto skip;
		if (!strcmp(name, "__bpf_call_base"))
			k->call_base = addr;
		if (!addr)
			goto skip;
		if (k->count == scap) {
			struct ksym *t;

			scap = scap ? scap * 2 : 131072;
			t = realloc(k->syms, scap * sizeof(*t));
			if (!t)
				fail(1, "out of memory reading /proc/kallsyms");
			k->syms = t;
		}
		k->syms[k->count].addr = addr;
		k->syms[k->count].name = name;
		k->syms[k->count].order = k->count;
		k->count++;
skip:
		line = next;
	}
	qsort(k->syms, k->count, sizeof(*k->syms), ksym_cmp);
}

/* glibc's bsearch() on bpftool's table, written out: the same midpoints, so the same alias among equals. */
static const char *ksym_at(const struct ksyms *k, unsigned long addr)
{
	size_t l = 0, u = k->count;

	while (l < u) {
		size_t i = (l + u) / 2;

		if (addr < k->syms[i].addr)
			u = i;
		else if (addr > k->syms[i].addr)
			l = i + 1;
		else
			return k->syms[i].name;
	}
	return NULL;
}

/* A program's BTF: only its string section is kept (line info points into it). Cached by id. */
struct btf_strings {
	uint32_t id;
	char *data;        /* the whole BTF blob */
	const char *strs;  /* its string section */
	uint32_t str_len;
	int err;
};

static struct btf_strings *btf_cache;
static size_t btf_cache_len;

static struct btf_strings *btf_strings_get(uint32_t id)
{
	struct bpf_btf_info info;
	union bpf_attr attr;
	struct btf_strings *b;
	struct btf_header hdr;
	int fd;

	for (size_t i = 0; i < btf_cache_len; i++)
		if (btf_cache[i].id == id)
			return &btf_cache[i];
	b = realloc(btf_cache, (btf_cache_len + 1) * sizeof(*btf_cache));
	if (!b)
		fail(1, "out of memory");
	btf_cache = b;
	b = &btf_cache[btf_cache_len++];
	memset(b, 0, sizeof(*b));
	b->id = id;

	memset(&attr, 0, sizeof(attr));
	attr.btf_id = id;
	fd = sys_bpf(BPF_BTF_GET_FD_BY_ID, &attr, sizeof(attr));
	if (fd < 0) {
		b->err = errno;
		return b;
	}
	memset(&info, 0, sizeof(info));
	memset(&attr, 0, sizeof(attr));
	attr.info.bpf_fd = fd;
	attr.info.info_len = sizeof(info);
	attr.info.info = ptr_to_u64(&info);
	if (sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &attr, sizeof(attr)) < 0 || info.btf_size < sizeof(hdr)) {
		b->err = errno ? errno : EINVAL;
		close(fd);
		return b;
	}
	b->data = malloc(info.btf_size);
	if (!b->data)
		fail(1, "out of memory");
	{
		uint32_t size = info.btf_size;

		memset(&info, 0, sizeof(info));
		info.btf = ptr_to_u64(b->data);
		info.btf_size = size;
		memset(&attr, 0, sizeof(attr));
		attr.info.bpf_fd = fd;
		attr.info.info_len = sizeof(info);
		attr.info.info = ptr_to_u64(&info);
		if (sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &attr, sizeof(attr)) < 0 || info.btf_size != size) {
			b->err = errno ? errno : EINVAL;
			close(fd);
			return b;
		}
	}
	close(fd);
	memcpy(&hdr, b->data, sizeof(hdr));
	if (hdr.magic != BTF_MAGIC || (uint64_t)hdr.hdr_len + hdr.str_off + hdr.str_len > info.btf_size) {
		b->err = EINVAL;
		return b;
	}
	b->strs = b->data + hdr.hdr_len + hdr.str_off;
	b->str_len = hdr.str_len;
	return b;
}

static void json_u32_list(const char *key, const uint32_t *v, uint32_t n)
{
	printf(",\"%s\":[", key);
	for (uint32_t i = 0; i < n; i++)
		printf("%s%u", i ? "," : "", v[i]);
	putchar(']');
}

static void prog_error(int *first, uint32_t id, const char *kind, int err, const char *message)
{
	printf("%s{\"id\":%u,\"error\":\"%s\",\"errno\":%d,\"message\":", *first ? "" : ",", id, kind, err);
	json_string(stdout, message);
	putchar('}');
	*first = 0;
}

static const char *errno_kind(int err)
{
	return err == ENOENT ? "missing" : err == EPERM || err == EACCES ? "permission" : "bpf";
}

/* The name bpftool prints for the call at insns[i] (see above), into buf. */
static const char *call_name(struct ksyms *k, const struct bpf_insn *insn, const uint64_t *jited, uint32_t nr_jited,
			     char *buf, size_t size)
{
	unsigned long addr;
	const char *sym;

	if (insn->src_reg == 0 && insn->imm >= 0 && insn->imm < NI_NHELPERS)
		return helper_names[insn->imm];
	if (!k->loaded)
		ksyms_load(k);
	addr = k->call_base + (unsigned long)(long)insn->imm;
	if (insn->src_reg == BPF_PSEUDO_CALL && (uint32_t)insn->imm < nr_jited)
		addr = jited[insn->imm];
	sym = ksym_at(k, addr);
	if (sym)
		return sym;
	snprintf(buf, size, "0x%lx", addr);
	return buf;
}


/* BPF_OBJ_GET_INFO_BY_FD into *info, whose set lengths and pointers say what the kernel fills (bpf_prog_get_info_by_fd). */
static int prog_info(int fd, struct bpf_prog_info *info)
{
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.info.bpf_fd = fd;
	attr.info.info_len = sizeof(*info);
	attr.info.info = ptr_to_u64(info);
	return (int)sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &attr, sizeof(attr));
}
static void dump_prog(int *first, uint32_t id, struct ksyms *k)
{
	struct bpf_prog_info info;
	union bpf_attr attr;
	struct bpf_insn *insns = NULL;
	uint32_t *map_ids = NULL;
	uint64_t *jited = NULL;
	unsigned char *linfo = NULL;
	uint32_t n_insns, nr_maps, nr_jited, nr_linfo, linfo_size;
	char msg[256], tag[2 * BPF_TAG_SIZE + 1];
	int fd;

	memset(&attr, 0, sizeof(attr));
	attr.prog_id = id;
	fd = sys_bpf(BPF_PROG_GET_FD_BY_ID, &attr, sizeof(attr));
	if (fd < 0) {
		int err = errno;

		snprintf(msg, sizeof(msg), "BPF_PROG_GET_FD_BY_ID %u: %s%s", id, strerror(err),
			 err == ENOENT ? " (unloaded)" : err == EPERM ? " (needs CAP_SYS_ADMIN)" : "");
		prog_error(first, id, errno_kind(err), err, msg);
		return;
	}
	memset(&info, 0, sizeof(info));
	if (prog_info(fd, &info) < 0) {
		int err = errno;

		snprintf(msg, sizeof(msg), "BPF_OBJ_GET_INFO_BY_FD prog %u: %s", id, strerror(err));
		prog_error(first, id, errno_kind(err), err, msg);
		close(fd);
		return;
	}
	if (info.xlated_prog_len == 0) {
		/* The kernel zeroes the lengths for a reader without CAP_BPF/CAP_SYS_ADMIN (bpf_prog_get_info_by_fd). */
		snprintf(msg, sizeof(msg), "prog %u: the kernel gave no instructions (needs CAP_BPF or CAP_SYS_ADMIN)", id);
		prog_error(first, id, "permission", EPERM, msg);
		close(fd);
		return;
	}
	n_insns = info.xlated_prog_len / sizeof(*insns);
	nr_maps = info.nr_map_ids;
	nr_jited = info.nr_jited_ksyms;
	nr_linfo = info.nr_line_info;
	linfo_size = info.line_info_rec_size;
	insns = calloc(n_insns ? n_insns : 1, sizeof(*insns));
	map_ids = calloc(nr_maps ? nr_maps : 1, sizeof(*map_ids));
	jited = calloc(nr_jited ? nr_jited : 1, sizeof(*jited));
	linfo = calloc(nr_linfo ? nr_linfo : 1, linfo_size ? linfo_size : 1);
	if (!insns || !map_ids || !jited || !linfo)
		fail(1, "out of memory");
	{
		uint32_t btf_id = info.btf_id, type = info.type;
		char name[BPF_OBJ_NAME_LEN + 1];
		unsigned char tagb[BPF_TAG_SIZE];

		memcpy(name, info.name, BPF_OBJ_NAME_LEN);
		name[BPF_OBJ_NAME_LEN] = '\0';
		memcpy(tagb, info.tag, BPF_TAG_SIZE);
		memset(&info, 0, sizeof(info));
		info.xlated_prog_len = n_insns * sizeof(*insns);
		info.xlated_prog_insns = ptr_to_u64(insns);
		info.nr_map_ids = nr_maps;
		info.map_ids = ptr_to_u64(map_ids);
		info.nr_jited_ksyms = nr_jited;
		info.jited_ksyms = ptr_to_u64(jited);
		info.nr_line_info = nr_linfo;
		info.line_info_rec_size = linfo_size;
		info.line_info = ptr_to_u64(linfo);
		if (prog_info(fd, &info) < 0) {
			int err = errno;

			snprintf(msg, sizeof(msg), "BPF_OBJ_GET_INFO_BY_FD prog %u (with buffers): %s", id, strerror(err));
			prog_error(first, id, errno_kind(err), err, msg);
			goto out;
		}
		/* The counts come back as the kernel's; never read past what was given. */
		if (info.xlated_prog_len / sizeof(*insns) < n_insns)
			n_insns = info.xlated_prog_len / sizeof(*insns);
		if (info.nr_map_ids < nr_maps)
			nr_maps = info.nr_map_ids;
		if (info.nr_jited_ksyms < nr_jited)
			nr_jited = info.nr_jited_ksyms;
		if (info.nr_line_info < nr_linfo)
			nr_linfo = info.nr_line_info;
		for (int i = 0; i < BPF_TAG_SIZE; i++)
			snprintf(tag + 2 * i, 3, "%02x", tagb[i]);

		printf("%s{\"id\":%u,\"type\":%u,\"name\":", *first ? "" : ",", id, type);
		*first = 0;
		json_string(stdout, name);
		printf(",\"tag\":\"%s\",\"jited_ksyms\":%u", tag, nr_jited);
		json_u32_list("map_ids", map_ids, nr_maps);
		/* Each instruction as its 8 bytes in memory order (bpftool's `opcodes`): code, regs, off (le), imm (le). */
		fputs(",\"insns\":[", stdout);
		for (uint32_t i = 0; i < n_insns; i++) {
			const unsigned char *b = (const unsigned char *)&insns[i];

			printf("%s\"%02x%02x%02x%02x%02x%02x%02x%02x\"", i ? "," : "", b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]);
		}
		putchar(']');
		/* Calls: what bpftool prints as the callee (helper, kfunc or subprogram symbol). */
		fputs(",\"calls\":[", stdout);
		for (uint32_t i = 0, c = 0; i < n_insns; i++) {
			char buf[32];

			if (insns[i].code != (BPF_JMP | BPF_CALL))
				continue;
			printf("%s{\"pc\":%u,\"sym\":", c++ ? "," : "", i);
			json_string(stdout, call_name(k, &insns[i], jited, nr_jited, buf, sizeof(buf)));
			putchar('}');
		}
		putchar(']');
		/* Line info: the source line of an instruction, from the program's BTF strings (bpftool's `src`). */
		if (nr_linfo && btf_id && linfo_size >= sizeof(struct bpf_line_info)) {
			struct btf_strings *b = btf_strings_get(btf_id);

			if (b->err) {
				printf(",\"line_info_error\":");
				snprintf(msg, sizeof(msg), "btf %u: %s", btf_id, strerror(b->err));
				json_string(stdout, msg);
			} else {
				fputs(",\"line_info\":[", stdout);
				for (uint32_t i = 0; i < nr_linfo; i++) {
					struct bpf_line_info li;

					memcpy(&li, linfo + (size_t)i * linfo_size, sizeof(li));
					printf("%s{\"insn_off\":%u", i ? "," : "", li.insn_off);
					/* An offset outside the strings: libbpf's btf__name_by_offset gives NULL, and bpftool no `src`. */
					if (li.line_off < b->str_len && memchr(b->strs + li.line_off, '\0', b->str_len - li.line_off)) {
						fputs(",\"src\":", stdout);
						json_string(stdout, b->strs + li.line_off);
					}
					putchar('}');
				}
				putchar(']');
			}
		}
		putchar('}');
	}
out:
	close(fd);
	free(insns);
	free(map_ids);
	free(jited);
	free(linfo);
}

static int cmd_prog_dump(int argc, char **argv)
{
	static struct ksyms k;
	int first = 1;

	if (argc == 0)
		fail(2, "prog-dump: no program id (usage: prog-dump ID...)");
	for (int i = 0; i < argc; i++)
		parse_id("prog-dump", argv[i]);
	printf("{\"helper\":\"%s\",\"version\":%d,\"programs\":[", HELPER_NAME, HELPER_VERSION);
	for (int i = 0; i < argc; i++)
		dump_prog(&first, parse_id("prog-dump", argv[i]), &k);
	putchar(']');
	if (k.loaded) {
		printf(",\"kallsyms\":{\"symbols\":%zu,\"call_base\":%s", k.count, k.call_base ? "true" : "false");
		if (k.err)
			printf(",\"errno\":%d", k.err);
		putchar('}');
	}
	printf("}\n");
	return 0;
}

/* exec's usage error: one line on stderr only (standard output is the tool's). */
static void exec_usage(const char *msg) __attribute__((noreturn));
static void exec_usage(const char *msg)
{
	fprintf(stderr, HELPER_NAME " exec: %s (usage: exec --sndbuf BYTES -- TOOL [ARG...])\n", msg);
	exit(2);
}

static int cmd_exec(int argc, char **argv)
{
	char *end;
	long long bytes;
	int i = 0, n;

	if (i >= argc || strcmp(argv[i], "--sndbuf") != 0 || i + 1 >= argc)
		exec_usage("no --sndbuf");
	errno = 0;
	bytes = strtoll(argv[i + 1], &end, 10);
	if (errno || *end || end == argv[i + 1] || bytes <= 0 || bytes > INT32_MAX / 2)
		exec_usage("--sndbuf wants a byte count from 1 to 1073741823");
	i += 2;
	if (i >= argc || strcmp(argv[i], "--") != 0 || i + 1 >= argc)
		exec_usage("no -- TOOL");
	i++;
	n = (int)bytes;
	/* The kernel doubles the value for its bookkeeping (sock_setsockopt); ask for what we mean. */
	if (setsockopt(STDOUT_FILENO, SOL_SOCKET, SO_SNDBUFFORCE, &n, sizeof(n)) != 0) {
		if (errno == ENOTSOCK)
			(void)fcntl(STDOUT_FILENO, F_SETPIPE_SZ, n);
		else
			(void)setsockopt(STDOUT_FILENO, SOL_SOCKET, SO_SNDBUF, &n, sizeof(n));
	}
	execvp(argv[i], argv + i);
	fprintf(stderr, HELPER_NAME " exec: %s: %s\n", argv[i], strerror(errno));
	return errno == ENOENT ? 127 : 126;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		fail(2, "usage: " HELPER_NAME " query [--dev NAME] | tcx-attach ... | netns-dump NAME... | prog-dump ID... | nft-tables | exec --sndbuf BYTES -- TOOL [ARG...] | spawn-server | version");
	if (!strcmp(argv[1], "query"))
		return cmd_query(argc - 2, argv + 2);
	if (!strcmp(argv[1], "tcx-attach"))
		return cmd_tcx_attach(argc - 2, argv + 2);
	if (!strcmp(argv[1], "netns-dump"))
		return cmd_netns_dump(argc - 2, argv + 2);
	if (!strcmp(argv[1], "prog-dump"))
		return cmd_prog_dump(argc - 2, argv + 2);
	if (!strcmp(argv[1], "nft-tables"))
		return cmd_nft_tables(argc - 2, argv + 2);
	if (!strcmp(argv[1], "exec"))
		return cmd_exec(argc - 2, argv + 2);
	if (!strcmp(argv[1], "spawn-server"))
		return cmd_spawn_server(argc - 2, argv + 2);
	if (!strcmp(argv[1], "version") || !strcmp(argv[1], "--version")) {
		printf("{\"helper\":\"%s\",\"version\":%d}\n", HELPER_NAME, HELPER_VERSION);
		return 0;
	}
	fail(2, "unknown subcommand '%s' (query, tcx-attach, netns-dump, prog-dump, nft-tables, exec, spawn-server, version)", argv[1]);
}
