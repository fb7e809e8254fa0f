#ifndef ROTARY_SHIMS_H
#define ROTARY_SHIMS_H
/* Swift cannot call C variadic functions; these wrap the ones Rotary needs, and nothing else. */
struct MHD_Connection;
struct MHD_Daemon;

/* The socket of a connection (MHD_get_connection_info with MHD_CONNECTION_INFO_CONNECTION_FD), or -1. */
int rotary_mhd_connection_fd(struct MHD_Connection *connection);

/* Connections the daemon holds open (MHD_get_daemon_info with MHD_DAEMON_INFO_CURRENT_CONNECTIONS), or -1. */
int rotary_mhd_current_connections(struct MHD_Daemon *daemon);
#endif
