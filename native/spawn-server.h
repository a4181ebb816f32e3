/* SPDX-License-Identifier: Apache-2.0 */
/* nodeinspect-bpf spawn-server (spawn-server.c): starts tools for nodeinspect so that node never forks. */
#ifndef NODEINSPECT_SPAWN_SERVER_H
#define NODEINSPECT_SPAWN_SERVER_H

int cmd_spawn_server(int argc, char **argv);

#endif
