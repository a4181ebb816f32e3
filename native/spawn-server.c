// SPDX-License-Identifier: Apache-2.0
/*
 * nodeinspect-bpf spawn-server: starts the tools nodeinspect asks for, so that its own thread never forks.
 *
 * Node's child_process.spawn forks the whole node process and then blocks its event loop until the child has
 * called execve (libuv reads a close-on-exec pipe, uv_spawn). While both cores of a node are busy (a 16 MB
 * iptables dump printing, the garbage collector's threads), that wait is ~4 ms per tool: ~70 ms of a `marks`
 * run's main thread for ~20 tools (docs/kernel-notes.md, kn-33-spawn-server). This process is small, so its
 * fork is cheap, and it waits for no exec: it polls.
 *
 * Protocol, host byte order (both ends are on one machine):
 *   request on stdin:   u32 len, then len bytes: u32 id, u8 type (1 = spawn), u32 argc, argc NUL-terminated
 *                       strings, u32 envc, envc NUL-terminated NAME=VALUE strings (the tool's whole
 *                       environment, PATH included, as node would pass it), u32 input length, the input
 *                       (written to the tool's stdin, then closed).
 *   events on stdout:   u32 len (of the payload), u32 id, u8 type, payload:
 *                       1 started (i32 pid), 2 stdout bytes, 3 stderr bytes,
 *                       4 spawn error (i32 errno, the tool never ran),
 *                       5 exit (i32 exit code or -1, i32 signal number or 0), once the tool was reaped and its
 *                       stdout and stderr ended, and last for that id.
 * Each tool runs as node's detached children do: its own session (setsid, so its process group is its pid and
 * nodeinspect kills the group on a timeout), stdin/stdout/stderr pipes, the environment the request gives, PATH
 * looked up in it (execvp). When nodeinspect ends, no tool may outlive it (it kills its tools' groups on exit and on
 * SIGINT/SIGTERM/SIGHUP, run-command.ts), and a tool this server started may not have been announced to it yet:
 * so the server, which ends when its stdin does, when nodeinspect dies (PR_SET_PDEATHSIG) or on those signals,
 * kills the group of every tool still running first.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "spawn-server.h"

enum { REQ_SPAWN = 1 };
enum { EV_STARTED = 1, EV_STDOUT = 2, EV_STDERR = 3, EV_SPAWN_ERROR = 4, EV_EXIT = 5 };

/* The most one event carries: a tool's output is forwarded in pieces of at most this. */
#define PIECE (64 * 1024)

struct run {
	uint32_t id;
	pid_t pid;
	int out, err, in, status; /* -1 once closed; status: the close-on-exec pipe that reports a failed exec */
	char *input;
	size_t input_len, input_off;
	int reaped, wstatus;
	struct run *next;
};

static struct run *runs;
static sigset_t handled_mask, orig_mask;

/* nodeinspect is done or gone: so is every tool still running (its group: the tool's descendants too). */
static void end_all(void) __attribute__((noreturn));
static void end_all(void)
{
	for (struct run *r = runs; r; r = r->next)
		if (!r->reaped)
			kill(-r->pid, SIGKILL);
	_exit(0);
}

/* Write all of buf to stdout (node's end); a write error means nodeinspect is gone: so is the server. */
static void write_all(const void *buf, size_t len)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t n = write(STDOUT_FILENO, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			end_all();
		p += n;
		len -= (size_t)n;
	}
}

static void emit(uint32_t id, uint8_t type, const void *payload, uint32_t len)
{
	char head[9];
	memcpy(head, &len, 4);
	memcpy(head + 4, &id, 4);
	head[8] = (char)type;
	write_all(head, sizeof(head));
	if (len > 0)
		write_all(payload, len);
}

static void emit_ints(uint32_t id, uint8_t type, int32_t a, int32_t b, int count)
{
	int32_t v[2] = {a, b};
	emit(id, type, v, (uint32_t)(count * 4));
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Start one tool; its events follow. argv and envp are NULL-terminated. */
static void start(uint32_t id, char **argv, char **envp, const char *input, size_t input_len)
{
	int in[2], out[2], err[2], st[2];
	struct run *r;
	pid_t pid;

	if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC) || pipe2(st, O_CLOEXEC)) {
		emit_ints(id, EV_SPAWN_ERROR, errno, 0, 1);
		emit_ints(id, EV_EXIT, -1, 0, 2);
		return;
	}
	pid = fork();
	if (pid < 0) {
		int e = errno;
		close(in[0]), close(in[1]), close(out[0]), close(out[1]), close(err[0]), close(err[1]), close(st[0]), close(st[1]);
		emit_ints(id, EV_SPAWN_ERROR, e, 0, 1);
		emit_ints(id, EV_EXIT, -1, 0, 2);
		return;
	}
	if (pid == 0) {
		int e;
		sigprocmask(SIG_SETMASK, &orig_mask, NULL);
		signal(SIGPIPE, SIG_DFL);
		setsid();
		/* dup2 clears close-on-exec on the copies: the tool keeps exactly these three. */
		if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0 || dup2(err[1], 2) < 0)
			_exit(126);
		/* execvp looks PATH up in environ: the request's. */
		environ = envp;
		execvp(argv[0], argv);
		e = errno;
		(void)!write(st[1], &e, sizeof(e));
		_exit(127);
	}
	close(in[0]), close(out[1]), close(err[1]), close(st[1]);
	r = calloc(1, sizeof(*r));
	if (!r)
		_exit(1);
	r->id = id;
	r->pid = pid;
	r->out = out[0];
	r->err = err[0];
	r->status = st[0];
	r->in = in[1];
	if (input_len > 0) {
		r->input = malloc(input_len);
		if (!r->input)
			_exit(1);
		memcpy(r->input, input, input_len);
		r->input_len = input_len;
		fcntl(r->in, F_SETFL, O_NONBLOCK);
	} else {
		close_fd(&r->in);
	}
	r->next = runs;
	runs = r;
	emit_ints(id, EV_STARTED, pid, 0, 1);
}

/* NUL-terminated strings from *q: count of them into a NULL-terminated array (pointing into the request). */
static char **strings(const char **q, const char *end, uint32_t count)
{
	char **v = calloc(count + 1, sizeof(char *));
	if (!v)
		_exit(1);
	for (uint32_t i = 0; i < count; i++) {
		const char *nul = memchr(*q, '\0', (size_t)(end - *q));
		if (!nul)
			_exit(3);
		v[i] = (char *)*q;
		*q = nul + 1;
	}
	return v;
}

static uint32_t u32_at(const char **q, const char *end)
{
	uint32_t v;
	if (end - *q < 4)
		_exit(3);
	memcpy(&v, *q, 4);
	*q += 4;
	return v;
}

/* One complete request: parse it and start its tool; a malformed one is nodeinspect's bug: stop. */
static void handle_request(const char *p, uint32_t len)
{
	const char *end = p + len, *q = p;
	uint32_t id, argc, envc, input_len;
	char **argv, **envp;

	id = u32_at(&q, end);
	if (q == end || (uint8_t)*q++ != REQ_SPAWN)
		_exit(3);
	argc = u32_at(&q, end);
	if (argc == 0 || argc > 4096)
		_exit(3);
	argv = strings(&q, end, argc);
	envc = u32_at(&q, end);
	if (envc > 65536)
		_exit(3);
	envp = strings(&q, end, envc);
	input_len = u32_at(&q, end);
	if ((size_t)(end - q) != input_len)
		_exit(3);
	start(id, argv, envp, q, input_len);
	free(argv);
	free(envp);
}

static void reap(void)
{
	int wstatus;
	pid_t pid;

	while ((pid = waitpid(-1, &wstatus, WNOHANG)) > 0) {
		for (struct run *r = runs; r; r = r->next)
			if (r->pid == pid) {
				r->reaped = 1;
				r->wstatus = wstatus;
			}
	}
}

/* Forward what one of a tool's pipes has; EOF closes it. */
static void forward(struct run *r, int *fd, uint8_t type)
{
	static char buf[PIECE];
	ssize_t n = read(*fd, buf, sizeof(buf));
	if (n > 0)
		emit(r->id, type, buf, (uint32_t)n);
	else if (n == 0 || (errno != EINTR && errno != EAGAIN))
		close_fd(fd);
}

/* A tool is done once reaped and its outputs ended: its exit event, and it is forgotten. */
static void finish_done(void)
{
	struct run **pp = &runs;
	while (*pp) {
		struct run *r = *pp;
		if (r->reaped && r->out < 0 && r->err < 0 && r->status < 0) {
			int code = WIFEXITED(r->wstatus) ? WEXITSTATUS(r->wstatus) : -1;
			int sig = WIFSIGNALED(r->wstatus) ? WTERMSIG(r->wstatus) : 0;
			close_fd(&r->in);
			emit_ints(r->id, EV_EXIT, code, sig, 2);
			*pp = r->next;
			free(r->input);
			free(r);
		} else {
			pp = &r->next;
		}
	}
}

int cmd_spawn_server(int argc, char **argv)
{
	char *req = NULL;
	size_t req_len = 0, req_cap = 0;
	struct pollfd *fds = NULL;
	struct run **owner = NULL;
	int *role = NULL;
	size_t cap = 0;
	int sfd;

	(void)argc, (void)argv;
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&handled_mask);
	sigaddset(&handled_mask, SIGCHLD);
	sigaddset(&handled_mask, SIGTERM);
	sigaddset(&handled_mask, SIGINT);
	sigaddset(&handled_mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &handled_mask, &orig_mask);
	/* Told when nodeinspect dies, even if it is killed before it closes our stdin. */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	sfd = signalfd(-1, &handled_mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0) {
		fprintf(stderr, "nodeinspect-bpf spawn-server: signalfd: %s\n", strerror(errno));
		return 1;
	}
	/* The tools must not hold nodeinspect's end of our pipes. */
	fcntl(STDIN_FILENO, F_SETFD, FD_CLOEXEC);
	fcntl(STDOUT_FILENO, F_SETFD, FD_CLOEXEC);

	for (;;) {
		size_t n = 2;
		for (struct run *r = runs; r; r = r->next)
			n += 4;
		if (n > cap) {
			cap = n * 2;
			fds = realloc(fds, cap * sizeof(*fds));
			owner = realloc(owner, cap * sizeof(*owner));
			role = realloc(role, cap * sizeof(*role));
			if (!fds || !owner || !role)
				return 1;
		}
		n = 0;
		fds[n] = (struct pollfd){.fd = STDIN_FILENO, .events = POLLIN}, owner[n] = NULL, role[n++] = 0;
		fds[n] = (struct pollfd){.fd = sfd, .events = POLLIN}, owner[n] = NULL, role[n++] = 1;
		for (struct run *r = runs; r; r = r->next) {
			if (r->out >= 0)
				fds[n] = (struct pollfd){.fd = r->out, .events = POLLIN}, owner[n] = r, role[n++] = EV_STDOUT;
			if (r->err >= 0)
				fds[n] = (struct pollfd){.fd = r->err, .events = POLLIN}, owner[n] = r, role[n++] = EV_STDERR;
			if (r->status >= 0)
				fds[n] = (struct pollfd){.fd = r->status, .events = POLLIN}, owner[n] = r, role[n++] = EV_SPAWN_ERROR;
			if (r->in >= 0)
				fds[n] = (struct pollfd){.fd = r->in, .events = POLLOUT}, owner[n] = r, role[n++] = 0;
		}
		if (poll(fds, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			return 1;
		}
		for (size_t i = 0; i < n; i++) {
			struct run *r = owner[i];
			if (!fds[i].revents)
				continue;
			if (!r && role[i] == 0) {
				/* Requests: read what is there, handle every complete one. */
				ssize_t got;
				if (req_cap - req_len < PIECE) {
					req_cap = req_cap * 2 + PIECE;
					req = realloc(req, req_cap);
					if (!req)
						return 1;
				}
				got = read(STDIN_FILENO, req + req_len, req_cap - req_len);
				if (got == 0 || (got < 0 && errno != EINTR && errno != EAGAIN))
					end_all();
				if (got > 0)
					req_len += (size_t)got;
				size_t off = 0;
				while (req_len - off >= 4) {
					uint32_t len;
					memcpy(&len, req + off, 4);
					if (req_len - off - 4 < len)
						break;
					handle_request(req + off + 4, len);
					off += 4 + len;
				}
				memmove(req, req + off, req_len - off);
				req_len -= off;
			} else if (!r) {
				struct signalfd_siginfo si;
				while (read(sfd, &si, sizeof(si)) > 0)
					if (si.ssi_signo != SIGCHLD)
						end_all();
				reap();
			} else if (role[i] == EV_STDOUT) {
				forward(r, &r->out, EV_STDOUT);
			} else if (role[i] == EV_STDERR) {
				forward(r, &r->err, EV_STDERR);
			} else if (role[i] == EV_SPAWN_ERROR) {
				int e;
				ssize_t got = read(r->status, &e, sizeof(e));
				if (got == sizeof(e))
					emit_ints(r->id, EV_SPAWN_ERROR, e, 0, 1);
				close_fd(&r->status);
			} else {
				/* The tool's input, as much as its pipe takes; a tool that exits unread closes it (EPIPE). */
				ssize_t put = write(r->in, r->input + r->input_off, r->input_len - r->input_off);
				if (put > 0)
					r->input_off += (size_t)put;
				if ((put < 0 && errno != EAGAIN && errno != EINTR) || r->input_off == r->input_len)
					close_fd(&r->in);
			}
		}
		/* A SIGCHLD may come between a read and the poll: reaping is cheap, ask each round. */
		reap();
		finish_done();
	}
}
