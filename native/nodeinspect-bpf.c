// SPDX-License-Identifier: Apache-2.0
/*
 * nodeinspect-bpf: the small native helper of nodeinspect.
 *
 * Debian 12's bpftool 7.1 and tc cannot see tcx (kernel >= 6.6) or netkit attachments, and Node cannot
 * make the bpf(2) syscall. This helper does the two raw syscalls nodeinspect needs:
 *
 *   nodeinspect-bpf query [--dev NAME]
 *       BPF_PROG_QUERY(target_ifindex) for tcx ingress/egress and netkit primary/peer on every device of
 *       the current network namespace; prints one JSON object.
 *   nodeinspect-bpf tcx-attach --prog-pin PATH --dev NAME --dir ingress|egress --link-pin PATH
 *                              [--before-prog-id N | --after-prog-id N | --first | --last]
 *       BPF_OBJ_GET + BPF_LINK_CREATE(BPF_TCX_*) + BPF_OBJ_PIN of the link; prints one JSON object.
 *   nodeinspect-bpf version
 *
 * It uses no libbpf: the attr layouts are written out below because Debian's 6.1 UAPI headers lack tcx.
 * Output contract: exactly one JSON object on stdout. On error: one line on stderr, {"error":"..."} on
 * stdout, exit 1 (exit 2 for a usage error).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

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

	printf("{\"helper\":\"%s\",\"version\":%d,\"queried\":%u,\"tcx_supported\":%s,\"netkit_supported\":%s,"
	       "\"attachments\":[%s],\"errors\":[",
	       HELPER_NAME, HELPER_VERSION, ndev, tcx_ok ? "true" : "false", nk_ok ? "true" : "false",
	       attachments ? attachments : "");
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

int main(int argc, char **argv)
{
	if (argc < 2)
		fail(2, "usage: " HELPER_NAME " query [--dev NAME] | tcx-attach ... | version");
	if (!strcmp(argv[1], "query"))
		return cmd_query(argc - 2, argv + 2);
	if (!strcmp(argv[1], "tcx-attach"))
		return cmd_tcx_attach(argc - 2, argv + 2);
	if (!strcmp(argv[1], "version") || !strcmp(argv[1], "--version")) {
		printf("{\"helper\":\"%s\",\"version\":%d}\n", HELPER_NAME, HELPER_VERSION);
		return 0;
	}
	fail(2, "unknown subcommand '%s' (query, tcx-attach, version)", argv[1]);
}
