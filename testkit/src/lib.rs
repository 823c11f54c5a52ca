//! nectar's test kit: what the tests of several crates need, once. A dev-dependency of
//! every crate with integration tests; never a dependency of a library or binary.
//!
//! | module | for |
//! |---|---|
//! | [`repo`] | the repository root, its Python venvs (`.venv`, `.venv-deploy`, `.venv-gnmi-legacy`) and test scripts |
//! | [`net`] | free TCP ports |
//! | [`process`] | running commands that must succeed, curl, SIGTERM and waiting for an exit |
//! | [`prom`] | Prometheus scrapes: one sample's value, `promtool check metrics` |
//! | [`ssh`] | OpenSSH keys (`ssh-keygen`) |
//! | [`tls`] | a test CA and a certificate it signed (`openssl`) |
//! | [`env`] | root or not, and the skip rule: a test that cannot run here says `SKIPPED` and passes, unless `CI` is set, where it fails |
//! | [`netns`] | network namespaces removed on drop, veth wiring, code run inside a namespace, ping and TCP transfers from one |
//! | [`daemon`] | the `nectar` binary started on free ports in a temporary state directory, stopped with SIGTERM |
//! | [`ves`] | the Python VES test collector as a child process |
//!
//! It imports std, libc, socket2, tempfile and serde_json, and no nectar crate: every
//! crate's tests can use it without a dependency cycle, and the dataplane's tests do not
//! build against mgmt or yang. Fixtures that need nectar types (a model set, a management
//! core with a test provider, a pg dataplane) stay with the tests of the crate they test,
//! in its `tests/common/`.

pub mod daemon;
pub mod env;
pub mod net;
pub mod netns;
pub mod process;
pub mod prom;
pub mod repo;
pub mod ssh;
pub mod tls;
pub mod ves;
