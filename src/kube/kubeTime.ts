// Kubernetes' two time formats, from Clock milliseconds.

/** metav1.Time (conditions): RFC 3339 in whole seconds. */
export const kubeTime = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z")

/** metav1.MicroTime (Leases, Events): RFC 3339 with six fractional digits. */
export const kubeMicroTime = (ms: number) => new Date(ms).toISOString().replace(/\.(\d{3})Z$/, ".$1000Z")
