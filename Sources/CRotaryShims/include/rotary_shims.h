#ifndef ROTARY_SHIMS_H
#define ROTARY_SHIMS_H
/* Swift cannot call C variadic functions, nor read a va_list; these wrap the ones Rotary needs. And one
   struct glibc's headers declare too old: Linux's tcp_info with tcpi_bytes_received. Nothing else. */
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
/* Called when libmicrohttpd is about to send an error response of its own (on the connection's thread). */
typedef void (*rotary_mhd_error_response_hook)(void *context, unsigned int status);

/* Sets the hook (before a daemon starts; every server sets the same one). */
void rotary_mhd_set_error_response_hook(rotary_mhd_error_response_hook hook);

/* A MHD_LogCallback (for MHD_OPTION_EXTERNAL_LOGGER, with the hook's context as its cls) that calls the hook
   for libmicrohttpd's "Error processing request" message, logged just before it queues its own error
   response, and drops every other message. */
void *rotary_mhd_logger(void);
#endif
