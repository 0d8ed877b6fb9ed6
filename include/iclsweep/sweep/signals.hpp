#pragma once
// Drain signals: SIGTERM, SIGUSR1 and SIGINT request a drain (no new points, commit the running ones,
// exit 3). The handler only sets lock-free atomics; the coordinator reads them once per loop turn.

namespace icl {

// Installs SIGTERM/SIGUSR1/SIGINT handlers that request a drain; drain_requested() reads the flag.
// Install them first thing (before MPI_Init, job expansion and file creation): a signal at any
// moment of a run then means exit 3. A second signal (drain_signal_count() >= 2) cuts the drain short;
// signals within 1 s of the first count as the first (one scancel reaches a rank by several paths).
void install_drain_handlers();
bool drain_requested();
int drain_signal();         // the first drain signal received (0 = none)
int drain_signal_count();   // how many drain requests arrived (signals 1 s or more after the first)

}  // namespace icl
