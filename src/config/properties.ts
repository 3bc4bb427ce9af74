// Java-style .properties parsing: the format Kafka's server.properties uses, so an
// operator's existing file can be pointed at Spate as it is.

export function parseProperties(text: string): Map<string, string> {
  const result = new Map<string, string>();
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!.trimStart();
    if (line === '' || line.startsWith('#') || line.startsWith('!')) continue;
    // A trailing backslash continues the logical line.
    while (line.endsWith('\\') && !line.endsWith('\\\\') && i + 1 < lines.length) {
      line = line.slice(0, -1) + lines[++i]!.trimStart();
    }
    const match = /^((?:\\.|[^=:\s\\])+)\s*[=:\s]\s*(.*)$/.exec(line);
    if (match === null) {
      result.set(unescape(line.trim()), '');
      continue;
    }
    result.set(unescape(match[1]!), unescape(match[2]!.trimEnd()));
  }
  return result;
}

function unescape(value: string): string {
  return value.replace(/\\(u[0-9a-fA-F]{4}|.)/g, (_, escaped: string) => {
    if (escaped.length === 5) return String.fromCharCode(parseInt(escaped.slice(1), 16));
    if (escaped === 'n') return '\n';
    if (escaped === 't') return '\t';
    if (escaped === 'r') return '\r';
    return escaped;
  });
}
