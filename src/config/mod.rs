//! Configuration: `config.toml` loaded into typed structs and validated; secrets from the
//! environment or a 0600 key file.
