/**
 * Text from events, configs and errors shown on a terminal: control characters (ANSI escapes, carriage
 * returns that rewrite a line) become "?", so input can never repaint what the user reads.
 */
export function terminalSafe(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
}
