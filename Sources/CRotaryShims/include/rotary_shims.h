#ifndef ROTARY_SHIMS_H
#define ROTARY_SHIMS_H
/* Swift cannot call C variadic functions; these wrap the ones Rotary needs. And one struct glibc's headers
   declare too old: Linux's tcp_info with tcpi_bytes_received. Nothing else. */
#include <stdint.h>
struct MHD_Connection;
struct MHD_Daemon;

/* The socket of a connection (MHD_get_connection_info with MHD_CONNECTION_INFO_CONNECTION_FD), or -1. */
int rotary_mhd_connection_fd(struct MHD_Connection *connection);

/* Connections the daemon holds open (MHD_get_daemon_info with MHD_DAEMON_INFO_CURRENT_CONNECTIONS), or -1. */
int rotary_mhd_current_connections(struct MHD_Daemon *daemon);
/* The connection's socket context, set at MHD_CONNECTION_NOTIFY_STARTED (MHD_CONNECTION_INFO_SOCKET_CONTEXT), or NULL. */
void *rotary_mhd_socket_context(struct MHD_Connection *connection);
/* The bytes a TCP socket has received in its life (TCP_INFO's tcpi_bytes_received), or 0. */
uint64_t rotary_socket_bytes_received(int fd);
#endif
