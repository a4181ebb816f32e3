import {describe, expect, it} from 'vitest'
import {judgeIptablesSave, pickNftSideDump, xtDumpBackend} from '../../src/probes/iptables-backend.js'
import type {RawOutput} from '../../src/source/types.js'
import {testdata} from '../helpers/fixtures.js'

// Recorded on Debian 12 (iptables 1.8.9) in a throwaway netns holding the same kube-proxy mark rule in both
// backends (testdata/fixtures/SOURCES.md).
const LEGACY = testdata('fixtures/iptables-backend/debian12-iptables-1.8.9-legacy-save.txt')
const NFT = testdata('fixtures/iptables-backend/debian12-iptables-1.8.9-nft-save.txt')
const NFT_STDERR = testdata('fixtures/iptables-backend/debian12-iptables-1.8.9-nft-save.stderr.txt')
const KIND_184 = testdata('fixtures/iptables-save/kind-1.23-kube-proxy-kindnet-traefik.txt')

function out(argv: string[], stdout: string, failure?: RawOutput['failure'], stderr = ''): RawOutput {
  const o: RawOutput = {argv, stdout, stderr, exitCode: failure ? null : 0, durationMs: 1}
  if (failure) Object.assign(o, {failure, message: `${argv[0]}: ${failure}`})
  return o
}

const save = (stdout: string, failure?: RawOutput['failure']) => out(['iptables-save'], stdout, failure)
const nftSave = (stdout: string, failure?: RawOutput['failure']) => out(['iptables-nft-save'], stdout, failure, failure ? '' : NFT_STDERR)

describe('the backend a dump read, from its header', () => {
  it.each([
    ['iptables-nft-save 1.8.9', NFT, 'nft'],
    ['iptables-save 1.8.9 on the nft alternative', NFT.replace('iptables-nft-save', 'iptables-save'), 'nft'],
    ['iptables-legacy-save 1.8.9 (no marker)', LEGACY, 'legacy'],
    ['iptables-save 1.8.4 legacy (kind 1.23)', KIND_184, 'legacy'],
    ['an empty dump (the backend holds no table)', '', undefined],
  ] as const)('%s', (_, text, want) => {
    expect(xtDumpBackend(text)).toBe(want)
  })
})

describe('which dump speaks for the nft side', () => {
  it('iptables-save read nf_tables: it is used, no other run', () => {
    expect(judgeIptablesSave(save(NFT)).verdict).toBe('nft')
    expect(pickNftSideDump(save(NFT), undefined)).toEqual({use: save(NFT)})
  })

  it("a container whose iptables-save is the legacy one, on a host whose rules are in nf_tables: iptables-nft-save's dump, the legacy copy dropped", () => {
    expect(judgeIptablesSave(save(LEGACY))).toEqual({verdict: 'ask-nft-save', legacyHeader: true})
    expect(pickNftSideDump(save(LEGACY), nftSave(NFT))).toEqual({use: nftSave(NFT)})
  })

  it('iptables-save printed nothing: iptables-nft-save is asked too (an empty dump does not say which backend it read)', () => {
    expect(judgeIptablesSave(save('')).verdict).toBe('ask-nft-save')
    expect(pickNftSideDump(save(''), nftSave(NFT)).use).toEqual(nftSave(NFT))
  })

  it('legacy iptables-save and no iptables-nft-save (iptables < 1.8): the legacy copy is not counted twice, and a warning says what is not read', () => {
    const r = pickNftSideDump(save(LEGACY), nftSave('', 'missing-binary'))
    expect(r.use).toBeUndefined()
    expect(r.note).toMatch(/^iptables-save here is iptables' legacy backend and iptables-nft-save is not installed: iptables-nft's tables in nf_tables, if the kernel holds any, are not read/)
  })

  it('iptables not installed at all: the one warning of iptables-save', () => {
    expect(pickNftSideDump(save('', 'missing-binary'), nftSave('', 'missing-binary'))).toEqual({use: save('', 'missing-binary')})
  })

  it('iptables-save failed otherwise (permission): its failure, nothing more asked', () => {
    expect(judgeIptablesSave(save('', 'permission')).verdict).toBe('failed')
    expect(pickNftSideDump(save('', 'permission'), undefined)).toEqual({use: save('', 'permission')})
  })

  it('a snapshot from before iptables-nft-save was asked: iptables-save as then', () => {
    expect(pickNftSideDump(save(LEGACY), nftSave('', 'not-recorded'))).toEqual({use: save(LEGACY)})
  })

  it('iptables-nft-save itself failed (timeout): its failure is the warning', () => {
    expect(pickNftSideDump(save(LEGACY), nftSave('', 'timeout'))).toEqual({use: nftSave('', 'timeout')})
  })
})
