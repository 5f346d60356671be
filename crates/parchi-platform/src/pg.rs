//! A PostgreSQL host as libpq's tools (`pg_dump`, `psql`) take it in `PGHOST`: a host name or
//! address, or on Unix the directory that holds the server's socket (a `PGHOST` starting with
//! `/`). tokio-postgres has the second kind on Unix only.

use std::ffi::OsString;

use tokio_postgres::config::Host;

/// The `PGHOST` value for `host`.
pub fn libpq_host(host: &Host) -> OsString {
    match host {
        Host::Tcp(name) => name.into(),
        #[cfg(unix)]
        Host::Unix(dir) => dir.as_os_str().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn first_host(url: &str) -> OsString {
        let config: tokio_postgres::Config = url.parse().expect("url");
        libpq_host(&config.get_hosts()[0])
    }

    #[test]
    fn a_host_name_and_a_socket_directory() {
        assert_eq!(
            first_host("postgres://u@db.hospital.in:5432/hub"),
            "db.hospital.in"
        );
        #[cfg(unix)]
        {
            assert_eq!(
                first_host("postgres://u@%2Fvar%2Frun%2Fpostgresql:5432/hub"),
                "/var/run/postgresql"
            );
            assert_eq!(first_host("host=/run/pg dbname=hub"), "/run/pg");
        }
    }
}
