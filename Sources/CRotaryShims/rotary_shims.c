#include "rotary_shims.h"
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <microhttpd.h>
#include <linux/tcp.h>
#include <netinet/in.h>

int rotary_mhd_connection_fd(struct MHD_Connection *connection) {
  const union MHD_ConnectionInfo *info =
      MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
  return info == NULL ? -1 : (int)info->connect_fd;
}

int rotary_mhd_current_connections(struct MHD_Daemon *daemon) {
  const union MHD_DaemonInfo *info = MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
  return info == NULL ? -1 : (int)info->num_connections;
}

void *rotary_mhd_socket_context(struct MHD_Connection *connection) {
  const union MHD_ConnectionInfo *info =
      MHD_get_connection_info(connection, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
  return info == NULL ? NULL : info->socket_context;
}

uint64_t rotary_socket_bytes_received(int fd) {
  struct tcp_info info;
  socklen_t size = sizeof info;
  if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &size) != 0) return 0;
  return info.tcpi_bytes_received;
}

/* Atomic: every server's start sets it (to the same function) while other servers' threads may log. */
static _Atomic(rotary_mhd_error_response_hook) error_response_hook;

void rotary_mhd_set_error_response_hook(rotary_mhd_error_response_hook hook) {
  atomic_store_explicit(&error_response_hook, hook, memory_order_release);
}

static void log_message(void *cls, const char *format, va_list arguments) {
  /* transmit_error_response_len: "Error processing request (HTTP response code is %u ('%s')). ..." */
  static const char prefix[] = "Error processing request (HTTP response code is %u";
  rotary_mhd_error_response_hook hook = atomic_load_explicit(&error_response_hook, memory_order_acquire);
  if (hook == NULL || strncmp(format, prefix, sizeof prefix - 1) != 0) return;
  unsigned int status = va_arg(arguments, unsigned int);
  hook(cls, status);
}

void *rotary_mhd_logger(void) { return (void *)log_message; }
