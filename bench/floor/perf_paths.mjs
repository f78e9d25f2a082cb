#!/usr/bin/env node
// Groups the samples of `perf script` (a `perf record -g` profile) into the
// kernel paths that make up the cost of a delivery, for docs/performance.md
// ("What bounds CPU per delivery here").
//
//   perf script -i perf.data -F pid,ip,sym,dso | node bench/floor/perf_paths.mjs [--us X]
//
// --us X: the measured CPU per delivery (µs); each share is also shown as µs
// per delivery. Node only, no dependencies.
//
// On this VM the PMU is not available, so perf samples with cpu-clock (an
// hrtimer): code that runs with interrupts off is charged to the point where
// they come back on, which is why _raw_spin_unlock_irqrestore tops flat
// profiles. Grouping by call path (what is on the stack) is not affected.
import { createInterface } from 'node:readline';

const args = process.argv.slice(2);
const usIdx = args.indexOf('--us');
const usPerDelivery = usIdx >= 0 ? Number(args[usIdx + 1]) : 0;

const has = (stack, names) => stack.some((f) => names.includes(f));

const SEND = ['__sys_sendmsg', '__x64_sys_sendmsg', '__x64_sys_write', '__x64_sys_writev', 'io_submit_sqes', 'io_send', '__sys_sendto', 'ksys_write', 'do_writev', '__sys_sendmmsg'];
const RECV = ['__sys_recvfrom', '__x64_sys_recvfrom', '__x64_sys_read', '__sys_recvmsg', 'ksys_read', 'do_readv', '__sys_recvmmsg'];
const EPOLL_WAIT = ['do_epoll_wait'];
const TIMER_SOFTIRQ = ['run_timer_softirq', 'call_timer_fn', 'tcp_delack_timer', 'tcp_write_timer'];
const RX_SOFTIRQ = ['net_rx_action', 'process_backlog'];
const WAKEUP = ['sock_def_readable', 'ep_poll_callback', 'sk_stream_write_space', 'sock_def_wakeup'];
const TIMER_ARM = ['sk_reset_timer', 'sk_stop_timer', '__mod_timer', 'mod_timer'];
const ACK = ['tcp_ack', '__tcp_ack_snd_check', 'tcp_send_ack', '__tcp_send_ack'];
const FREE = ['skb_defer_free_flush', 'kfree_skb_reason', 'sk_skb_reason_drop', '__kfree_skb', 'consume_skb', 'napi_consume_skb'];

function classify(stack, dsos) {
  // stack[0] is the sampled function (leaf); the rest are its callers.
  if (!dsos[0].includes('kernel')) {
    if (dsos[0].includes('/gyre') || dsos[0] === 'gyre') return ['user space', 'gyre'];
    const lib = dsos[0].split('/').pop().replace(/\.so.*/, '');
    return ['user space', lib || 'unknown'];
  }
  if (has(stack, TIMER_SOFTIRQ)) return ['timer softirq (TCP timers expiring)', ''];
  let l1;
  if (has(stack, SEND)) l1 = 'send syscalls (sendmsg/write/writev/io_uring)';
  else if (has(stack, RECV)) l1 = 'recv/read syscalls';
  else if (has(stack, EPOLL_WAIT)) l1 = 'epoll_wait';
  else if (has(stack, ['__sys_accept4', 'do_accept'])) l1 = 'accept4';
  else if (has(stack, ['do_epoll_ctl'])) l1 = 'epoll_ctl';
  else if (has(stack, ['do_syscall_64'])) {
    const sys = stack.find((f) => /^(__x64_sys_|__sys_|ksys_|do_sys_)/.test(f));
    l1 = `other syscalls${sys ? ` (${sys.replace(/^(__x64_sys_|__sys_|ksys_|do_sys_)/, '')})` : ' (entry/exit)'}`;
  } else if (has(stack, RX_SOFTIRQ)) l1 = 'softirq at interrupt exit';
  else l1 = 'other kernel (interrupts, scheduler, idle entry)';

  if (has(stack, RX_SOFTIRQ)) {
    // The loopback receive path, run in this process's context.
    let l2 = 'peer side: TCP input, queueing, lookup';
    if (has(stack, ['skb_defer_free_flush']))
      l2 = 'own skbs freed (deferred back from the reader\'s CPU)';
    else if (has(stack, WAKEUP)) l2 = 'peer side: wakeup of the reader (sock_def_readable → ep_poll_callback → try_to_wake_up)';
    else if (has(stack, TIMER_ARM)) l2 = 'peer side: delayed-ACK / retransmit timer (re)arm';
    else if (has(stack, ACK)) l2 = 'peer side: ACK sent or processed';
    else if (has(stack, FREE)) l2 = 'peer side: freeing skbs';
    return [l1, l2];
  }
  if (l1.startsWith('send')) {
    if (has(stack, TIMER_ARM)) return [l1, 'own side: retransmit timer (re)arm'];
    if (has(stack, ['__tcp_transmit_skb', 'tcp_write_xmit'])) return [l1, 'own side: TCP/IP transmit to loopback_xmit'];
    if (has(stack, ['_copy_from_iter', 'skb_page_frag_refill', '__alloc_skb', 'tcp_stream_alloc_skb'])) return [l1, 'own side: skb allocation and copy'];
    if (has(stack, ['tcp_sendmsg_locked', 'tcp_sendmsg'])) return [l1, 'own side: tcp_sendmsg (rest)'];
    return [l1, 'own side: syscall entry, fd lookup, socket layer'];
  }
  return [l1, ''];
}

const totals = new Map();
let samples = 0;
let stack = [];
let dsos = [];

function flush() {
  if (!stack.length) return;
  const [l1, l2] = classify(stack, dsos);
  samples++;
  const e = totals.get(l1) || { n: 0, sub: new Map() };
  e.n++;
  if (l2) e.sub.set(l2, (e.sub.get(l2) || 0) + 1);
  totals.set(l1, e);
  stack = [];
  dsos = [];
}

const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  const m = line.match(/^\s+[0-9a-f]+\s+(\S+?)(?:\+0x[0-9a-f]+)?\s+\((.*)\)\s*$/);
  if (m) {
    stack.push(m[1]);
    dsos.push(m[2]);
  } else if (!line.trim()) flush();
});
rl.on('close', () => {
  flush();
  const pct = (n) => ((100 * n) / samples).toFixed(1).padStart(5);
  const us = (n) => (usPerDelivery ? `  ${((usPerDelivery * n) / samples).toFixed(2).padStart(5)} µs` : '');
  console.log(`${samples} samples${usPerDelivery ? `; µs per delivery = share × ${usPerDelivery}` : ''}`);
  for (const [l1, e] of [...totals].sort((a, b) => b[1].n - a[1].n)) {
    console.log(`${pct(e.n)}%${us(e.n)}  ${l1}`);
    for (const [l2, n] of [...e.sub].sort((a, b) => b[1] - a[1]))
      if ((100 * n) / samples >= 0.3) console.log(`        ${pct(n)}%${us(n)}    ${l2}`);
  }
});
