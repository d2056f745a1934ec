import { describe, expect, it } from 'vitest';
import { jupyterDataDir, kernelsDir, systemJupyterPaths } from './paths.js';

describe('jupyter paths', () => {
  it('follows JUPYTER_DATA_DIR, then XDG, then the platform default', () => {
    expect(jupyterDataDir({ JUPYTER_DATA_DIR: '/d' }, 'linux', '/home/u')).toBe('/d');
    expect(jupyterDataDir({ XDG_DATA_HOME: '/x' }, 'linux', '/home/u')).toBe('/x/jupyter');
    expect(jupyterDataDir({}, 'linux', '/home/u')).toBe('/home/u/.local/share/jupyter');
    expect(jupyterDataDir({}, 'darwin', '/Users/u')).toBe('/Users/u/Library/Jupyter');
  });
  it('computes kernels dirs per destination', () => {
    expect(kernelsDir({ kind: 'user' }, { JUPYTER_DATA_DIR: '/d' }, 'linux')).toBe('/d/kernels');
    expect(kernelsDir({ kind: 'prefix', prefix: '/opt/env' }, {}, 'linux')).toBe('/opt/env/share/jupyter/kernels');
    expect(kernelsDir({ kind: 'system' }, {}, 'linux')).toBe('/usr/local/share/jupyter/kernels');
    expect(systemJupyterPaths({}, 'linux')).toEqual(['/usr/local/share/jupyter', '/usr/share/jupyter']);
  });
});
