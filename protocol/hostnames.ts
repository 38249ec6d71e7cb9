/**
 * Destination hostnames: valid lower-case DNS names inside an OCI realm domain (OCI-FACTS.md
 * "Endpoints"), so a policy cannot steer and sign traffic meant for somewhere else.
 */
const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const OCI_REALM_SUFFIX = /\.(oraclecloud\d*\.com|oraclegovcloud\.com|oraclegovcloud\.uk|oraclecloud\.eu|oci\.customer-oci\.com)$/;

export function hostnameProblem(host: string): string | undefined {
  if (host !== host.toLowerCase()) return `"${host}" must be lower-case`;
  if (host.length > 253) return `"${host}" is longer than 253 characters`;
  const labels = host.split('.');
  if (labels.length < 2 || labels.some((label) => !LABEL.test(label))) return `"${host}" is not a valid DNS name`;
  if (!OCI_REALM_SUFFIX.test(host)) return `"${host}" is not an OCI endpoint (expected a name under an OCI realm domain such as oraclecloud.com)`;
  return undefined;
}

export const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
/** OCI region ids look like us-ashburn-1, eu-frankfurt-1, ap-tokyo-1. */
export const REGION_PATTERN = /^[a-z]{2,3}-[a-z]+-[0-9]+$/;
