//! The packet graph itself as an object of the models (`nectar-dataplane`): its runtime
//! counters per worker and node, and the packet trace, read as operational state and driven
//! by the trace-start / trace-stop / trace-clear RPCs. ACL decisions of the trace name the
//! ACL and entry as the model that configured them does (the engine knows rules by index).
//! And packet capture: capture-start, capture-stop (which writes the pcap file into the
//! captures directory, keeping the newest [`KEEP_CAPTURES`]) and capture-read (the pcap,
//! base64 as YANG `binary` is).

use nectar_mgmt::ly::{self, Tree};
use nectar_mgmt::provider::{RpcArgs, StateArgs};
use nectar_mgmt::{ErrorTag, MgmtError};
use nectar_yang::yang2::data::Data as _;

use nectar_dataplane::control::{AclAction, AclRule};
use nectar_dataplane::graph::capture::{CaptureSpec, MAX_CAPTURE_BYTES, MAX_CAPTURE_PACKETS};
use nectar_dataplane::graph::trace::MAX_TRACE_PACKETS;
use nectar_dataplane::types::IpNet;

use crate::engine::Mapping;
use crate::keys::quote;
use crate::object::acl::oc_acl::parse_acl_name;
use crate::state::set;

const ROOT: &str = "/nectar-dataplane:dataplane";
/// Packets a trace-start without `packets` traces (the module's default).
const DEFAULT_PACKETS: u32 = 10;

/// `a / b` with two decimals, 0 when `b` is 0.
fn ratio(a: u64, b: u64) -> String {
    if b == 0 {
        return "0.00".into();
    }
    let hundredths = (a as u128 * 100 + b as u128 / 2) / b as u128;
    format!("{}.{:02}", hundredths / 100, hundredths % 100)
}

/// `/nectar-dataplane:dataplane` state: the runtime counters and the trace, only the one a
/// narrower request names.
pub fn dataplane(m: &Mapping, args: &StateArgs<'_>, out: &mut Tree) -> Result<(), MgmtError> {
    // The container a narrower request names (its second step, e.g. `trace` or
    // `nectar-dataplane:trace[...]`), if any.
    let second = args.path.and_then(|p| {
        let steps = ly::steps(p);
        let step = *steps.get(1)?;
        let step = step.split('[').next().unwrap_or(step);
        Some(step.rsplit(':').next().unwrap_or(step).to_string())
    });
    let wants = |part: &str| second.as_deref().is_none_or(|s| s == part);
    if wants("runtime") {
        runtime(m, out)?;
    }
    if wants("trace") {
        trace(m, out)?;
    }
    if wants("capture") {
        capture(m, out)?;
    }
    Ok(())
}

fn direction(spec: &CaptureSpec) -> &'static str {
    match (spec.rx, spec.tx) {
        (true, true) => "both",
        (false, true) => "tx",
        _ => "rx",
    }
}

fn capture(m: &Mapping, out: &mut Tree) -> Result<(), MgmtError> {
    let st = m.dp.capture_status();
    let b = format!("{ROOT}/capture");
    set(out, &format!("{b}/active"), Some(&st.active.to_string()))?;
    if let Some(spec) = &st.spec {
        if let Some(port) = m.dp.port(spec.ifidx as usize) {
            set(out, &format!("{b}/interface"), Some(&port.name))?;
        }
        set(out, &format!("{b}/direction"), Some(direction(spec)))?;
    }
    set(out, &format!("{b}/packets"), Some(&st.packets.to_string()))?;
    set(out, &format!("{b}/bytes"), Some(&st.bytes.to_string()))?;
    if let Some(f) = &m.last_capture {
        set(out, &format!("{b}/file"), Some(&f.display().to_string()))?;
    }
    Ok(())
}

fn runtime(m: &Mapping, out: &mut Tree) -> Result<(), MgmtError> {
    for w in m.dp.runtime() {
        for n in &w.nodes {
            let b = format!(
                "{ROOT}/runtime/worker[id='{}']/node[name={}]",
                w.worker,
                quote(n.node)
            );
            set(out, &format!("{b}/vectors"), Some(&n.vectors.to_string()))?;
            set(out, &format!("{b}/packets"), Some(&n.packets.to_string()))?;
            let avg = ratio(n.packets, n.vectors);
            set(out, &format!("{b}/average-vector-size"), Some(&avg))?;
            set(out, &format!("{b}/time"), Some(&n.nanos.to_string()))?;
            let per = ratio(n.nanos, n.packets);
            set(out, &format!("{b}/nanoseconds-per-packet"), Some(&per))?;
            for (reason, count) in &n.drops {
                let d = format!("{b}/drop[reason={}]/packets", quote(reason));
                set(out, &d, Some(&count.to_string()))?;
            }
        }
    }
    Ok(())
}

/// The model's names of a dataplane ACL and of its rule `rule`: (ACL, entry).
fn acl_names(m: &Mapping, acl: &str, rule: Option<usize>) -> (String, Option<String>) {
    let model = match acl.strip_prefix("ietf/") {
        Some(n) => n.to_string(),
        None => parse_acl_name(acl).map_or_else(|| acl.to_string(), |(set, _)| set.to_string()),
    };
    let ace = rule.and_then(|r| m.eff.ace_names.get(acl)?.get(r).cloned());
    (model, ace)
}

fn trace(m: &Mapping, out: &mut Tree) -> Result<(), MgmtError> {
    let st = m.dp.trace_status();
    let b = format!("{ROOT}/trace");
    set(
        out,
        &format!("{b}/active"),
        Some(&(st.remaining > 0).to_string()),
    )?;
    set(
        out,
        &format!("{b}/remaining"),
        Some(&st.remaining.to_string()),
    )?;
    set(out, &format!("{b}/traced"), Some(&st.traced.to_string()))?;
    if let Some(name) = st
        .rx_if
        .and_then(|ix| m.dp.port(ix as usize).map(|p| p.name))
    {
        set(out, &format!("{b}/interface"), Some(&name))?;
    }
    if let Some(r) = &st.rule {
        let fields = [
            ("source-prefix", r.src.map(|p| p.to_string())),
            ("destination-prefix", r.dst.map(|p| p.to_string())),
            ("protocol", r.proto.map(|p| p.to_string())),
            ("source-port", r.src_ports.map(|p| p.0.to_string())),
            ("destination-port", r.dst_ports.map(|p| p.0.to_string())),
        ];
        for (leaf, v) in fields {
            if let Some(v) = v {
                set(out, &format!("{b}/match/{leaf}"), Some(&v))?;
            }
        }
    }
    let (mut packet, mut step) = (0, 0);
    for l in m.dp.trace() {
        if l.packet != packet {
            (packet, step) = (l.packet, 0);
        }
        step += 1;
        let s = format!("{b}/packet[id='{packet}']/step[index='{step}']");
        set(out, &format!("{s}/node"), Some(l.node))?;
        set(out, &format!("{s}/detail"), Some(&l.text))?;
        if let Some(r) = &l.rule {
            let (acl, ace) = acl_names(m, &r.acl, r.rule);
            set(out, &format!("{s}/acl"), Some(&acl))?;
            if let Some(ace) = ace {
                set(out, &format!("{s}/ace"), Some(&ace))?;
            }
        }
    }
    Ok(())
}

/// The canonical value of input leaf `name` of the RPC in `input`.
fn input_leaf(input: &Tree, rpc: &str, name: &str) -> Result<Option<String>, MgmtError> {
    Ok(ly::find(input, &format!("/nectar-dataplane:{rpc}/{name}"))?
        .and_then(|n| n.value_canonical()))
}

/// `trace-start`: the next `packets` packets (optionally only those received on
/// `interface`), the previous trace discarded.
pub fn trace_start(m: &Mapping, a: &RpcArgs<'_>) -> Result<Option<Tree>, MgmtError> {
    let n = match input_leaf(a.input, "trace-start", "packets")? {
        Some(v) => v.parse::<u32>().map_err(|_| {
            MgmtError::invalid_value(format!("packets: {v} is not a count"))
                .with_path("/nectar-dataplane:trace-start/packets")
        })?,
        None => DEFAULT_PACKETS,
    };
    if n == 0 || n > MAX_TRACE_PACKETS {
        return Err(MgmtError::invalid_value(format!(
            "packets: {n} is not within 1..{MAX_TRACE_PACKETS}"
        ))
        .with_path("/nectar-dataplane:trace-start/packets"));
    }
    let ifname = input_leaf(a.input, "trace-start", "interface")?;
    let rule = trace_match(a.input)?;
    m.dp.trace_start_with(n, ifname.as_deref(), rule)
        .map_err(|e| {
            MgmtError::app(ErrorTag::InvalidValue, e)
                .with_path("/nectar-dataplane:trace-start/interface")
        })?;
    tracing::info!(user = a.user, packets = n, "packet trace started");
    Ok(None)
}

/// The `match` of a trace-start as an ACL rule (`None`: no field given).
fn trace_match(input: &Tree) -> Result<Option<AclRule>, MgmtError> {
    let at = |leaf: &str| input_leaf(input, "trace-start", &format!("match/{leaf}"));
    let bad = |leaf: &str, v: &str| {
        MgmtError::invalid_value(format!("{leaf}: {v}"))
            .with_path(format!("/nectar-dataplane:trace-start/match/{leaf}"))
    };
    let prefix = |leaf: &str| -> Result<Option<IpNet>, MgmtError> {
        at(leaf)?
            .map(|v| {
                v.parse::<IpNet>()
                    .map(|p| p.network())
                    .map_err(|_| bad(leaf, &v))
            })
            .transpose()
    };
    let number = |leaf: &str| -> Result<Option<u16>, MgmtError> {
        at(leaf)?
            .map(|v| v.parse::<u16>().map_err(|_| bad(leaf, &v)))
            .transpose()
    };
    let rule = AclRule {
        src: prefix("source-prefix")?,
        dst: prefix("destination-prefix")?,
        proto: number("protocol")?.map(|p| p as u8),
        src_ports: number("source-port")?.map(|p| (p, p)),
        dst_ports: number("destination-port")?.map(|p| (p, p)),
        ..AclRule::any(AclAction::Permit)
    };
    Ok((rule != AclRule::any(AclAction::Permit)).then_some(rule))
}

/// `trace-stop`.
pub fn trace_stop(m: &Mapping, _a: &RpcArgs<'_>) -> Result<Option<Tree>, MgmtError> {
    m.dp.trace_stop();
    Ok(None)
}

/// `trace-clear`.
pub fn trace_clear(m: &Mapping, _a: &RpcArgs<'_>) -> Result<Option<Tree>, MgmtError> {
    m.dp.trace_clear();
    Ok(None)
}

/// Capture files kept in the captures directory (older ones are removed).
pub const KEEP_CAPTURES: usize = 8;

fn leaf_u32(input: &Tree, rpc: &str, name: &str, default: u32) -> Result<u32, MgmtError> {
    match input_leaf(input, rpc, name)? {
        Some(v) => v.parse().map_err(|_| {
            MgmtError::invalid_value(format!("{name}: {v} is not a number"))
                .with_path(format!("/nectar-dataplane:{rpc}/{name}"))
        }),
        None => Ok(default),
    }
}

/// `capture-start`.
pub fn capture_start(m: &Mapping, a: &RpcArgs<'_>) -> Result<Option<Tree>, MgmtError> {
    const RPC: &str = "capture-start";
    let Some(ifname) = input_leaf(a.input, RPC, "interface")? else {
        return Err(
            MgmtError::app(ErrorTag::MissingElement, "capture-start needs an interface")
                .with_path("/nectar-dataplane:capture-start/interface"),
        );
    };
    let dir = input_leaf(a.input, RPC, "direction")?.unwrap_or_else(|| "both".into());
    let spec = CaptureSpec {
        ifidx: 0,
        rx: dir != "tx",
        tx: dir != "rx",
        packets: leaf_u32(a.input, RPC, "packets", 1000)?,
        bytes: u64::from(leaf_u32(a.input, RPC, "bytes", 1 << 20)?),
        snaplen: leaf_u32(a.input, RPC, "snaplen", 65535)?,
    };
    if spec.packets == 0
        || spec.packets > MAX_CAPTURE_PACKETS
        || spec.bytes > MAX_CAPTURE_BYTES
        || spec.snaplen == 0
    {
        return Err(MgmtError::invalid_value(format!(
            "a capture takes 1..{MAX_CAPTURE_PACKETS} packets and at most {MAX_CAPTURE_BYTES} bytes"
        ))
        .with_path("/nectar-dataplane:capture-start"));
    }
    m.dp.capture_start(&ifname, spec).map_err(|e| {
        MgmtError::app(ErrorTag::InvalidValue, e)
            .with_path("/nectar-dataplane:capture-start/interface")
    })?;
    tracing::info!(user = a.user, interface = %ifname, direction = %dir, "packet capture started");
    Ok(None)
}

/// `capture-stop`: stops, and writes the pcap file when there is a captures directory.
pub fn capture_stop(m: &mut Mapping, a: &RpcArgs<'_>) -> Result<Option<Tree>, MgmtError> {
    m.dp.capture_stop();
    let st = m.dp.capture_status();
    let mut out = Tree::new(a.input.context());
    let o = |out: &mut Tree, leaf: &str, v: &str| {
        out.new_path(
            &format!("/nectar-dataplane:capture-stop/{leaf}"),
            Some(v),
            true,
        )
        .map(|_| ())
        .map_err(MgmtError::from)
    };
    if let (Some(dir), Some(spec)) = (&m.captures, st.spec) {
        let name =
            m.dp.port(spec.ifidx as usize)
                .map_or_else(|| format!("port{}", spec.ifidx), |p| p.name);
        let stamp = humantime::format_rfc3339_micros(std::time::SystemTime::now())
            .to_string()
            .replace(':', "");
        let file = dir.join(format!("{}-{stamp}.pcap", sanitize(&name)));
        write_capture(dir, &file, &m.dp.capture_pcap()).map_err(|e| {
            MgmtError::app(
                ErrorTag::OperationFailed,
                format!("cannot write {}: {e}", file.display()),
            )
        })?;
        o(&mut out, "file", &file.display().to_string())?;
        m.last_capture = Some(file);
    }
    o(&mut out, "packets", &st.packets.to_string())?;
    o(&mut out, "bytes", &st.bytes.to_string())?;
    Ok(Some(out))
}

/// `capture-read`: the capture so far, as a pcap file.
pub fn capture_read(m: &Mapping, a: &RpcArgs<'_>) -> Result<Option<Tree>, MgmtError> {
    use base64::Engine as _;
    let pcap = base64::engine::general_purpose::STANDARD.encode(m.dp.capture_pcap());
    let mut out = Tree::new(a.input.context());
    out.new_path("/nectar-dataplane:capture-read/pcap", Some(&pcap), true)
        .map_err(MgmtError::from)?;
    Ok(Some(out))
}

/// An interface name as a file name: anything but letters, digits, `.`, `_` and `-` as `_`.
fn sanitize(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Writes `data` to `file` in `dir` (created if needed; written to a temporary file, then
/// renamed), then removes the oldest `.pcap` files beyond [`KEEP_CAPTURES`].
fn write_capture(
    dir: &std::path::Path,
    file: &std::path::Path,
    data: &[u8],
) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let tmp = file.with_extension("pcap.tmp");
    std::fs::write(&tmp, data)?;
    std::fs::rename(&tmp, file)?;
    let mut files: Vec<_> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "pcap"))
        .filter_map(|p| Some((p.metadata().ok()?.modified().ok()?, p)))
        .collect();
    files.sort();
    let excess = files.len().saturating_sub(KEEP_CAPTURES);
    for (_, p) in files.into_iter().take(excess) {
        let _ = std::fs::remove_file(p);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::ratio;

    // Input: counts and divisors. Output: the quotient with two decimals, rounded; 0 for a
    // division by zero.
    #[test]
    fn ratios_have_two_decimals() {
        assert_eq!(ratio(10, 4), "2.50");
        assert_eq!(ratio(2, 3), "0.67");
        assert_eq!(ratio(256, 1), "256.00");
        assert_eq!(ratio(5, 0), "0.00");
    }
}
