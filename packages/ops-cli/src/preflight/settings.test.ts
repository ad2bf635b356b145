import { describe, expect, it } from 'vitest';
import { compareVersions } from './settings.js';

describe('extension versions', () => {
  it('compare by number, segment by segment', () => {
    expect(compareVersions('1.10', '1.9')).toBe(1);
    expect(compareVersions('1.9', '1.10')).toBe(-1);
    expect(compareVersions('3.4.2', '3.4')).toBe(1);
    expect(compareVersions('2.0', '2')).toBe(0);
    expect(compareVersions('1.0beta1', '1.0beta2')).toBe(-1);
  });
});
