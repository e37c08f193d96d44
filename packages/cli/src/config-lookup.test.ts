import { configCandidates } from '@kata-ts/shim';
import { describeLookup, lookupLines } from './config-lookup';

describe('configuration lookup', () => {
  it('marks the first existing default path as loaded and later places as not reached', () => {
    const lookup = describeLookup(configCandidates({}, {}), false, (f) => f.startsWith('/usr/share'));
    expect(lookup.map((e) => e.state)).toEqual(['not set', 'not set', 'not set', 'absent', 'loaded', 'not reached']);
    expect(lookupLines(lookup)[4]).toBe('5. /usr/share/defaults/kata-ts/configuration.toml: loaded');
  });

  it('lets a named file win even when it is missing, and says it failed', () => {
    const lookup = describeLookup(configCandidates({}, { KATA_CONF_FILE: '/x.toml' }), true, () => true);
    expect(lookup[2]).toEqual({ from: '$KATA_CONF_FILE', path: '/x.toml', state: 'failed' });
    expect(lookup.slice(3).map((e) => e.state)).toEqual(['not reached', 'not reached', 'not reached']);
    expect(lookupLines(lookup)[2]).toBe('3. $KATA_CONF_FILE (/x.toml): failed');
  });

  it('falls back to the built-in defaults', () => {
    expect(describeLookup(configCandidates({}, {}), false, () => false).pop()).toEqual({ from: 'built-in defaults', state: 'loaded' });
  });
});
