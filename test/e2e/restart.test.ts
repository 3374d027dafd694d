// What survives: the simulator killed with SIGKILL and restarted keeps every acknowledged note
// and setting; card.restart keeps them too; card.restore {delete:true} wipes notes but not who
// the card is.
import { connectTcp, startSim, tempDir } from '../support/sim-process';

it('keeps every acknowledged note and setting through SIGKILL', async () => {
  const data = tempDir('opencard-kill-');
  const first = await startSim(['--tcp', '0'], data);
  const a = await connectTcp(first);
  await a.card.transaction({ req: 'hub.set', product: 'com.example:kill', mode: 'minimum' });
  for (let i = 0; i < 50; i++) expect((await a.card.transaction({ req: 'note.add', file: 'sensors.qo', body: { i } })).total).toBe(i + 1);
  await a.card.transaction({ req: 'note.add', file: 'config.db', note: 'c', body: { on: true } });
  await a.card.transaction({ req: 'env.set', name: 'rate', text: '5' });
  a.close();
  expect(await first.stop('SIGKILL')).toBeNull();

  const second = await startSim(['--tcp', '0'], data);
  const b = await connectTcp(second);
  try {
    expect(second.device).toBe(first.device);
    expect(await b.card.transaction({ req: 'hub.get' })).toMatchObject({ product: 'com.example:kill', mode: 'minimum' });
    const changes = await b.card.transaction({ req: 'note.changes', file: 'sensors.qo', max: 100 });
    expect(changes.total).toBe(50);
    expect(Object.values(changes.notes as Record<string, { body: { i: number } }>).map((n) => n.body.i)).toEqual([...Array(50).keys()]);
    expect((await b.card.transaction({ req: 'note.get', file: 'config.db', note: 'c' })).body).toEqual({ on: true });
    expect(await b.card.transaction({ req: 'env.get', name: 'rate' })).toMatchObject({ text: '5' });
  } finally {
    b.close();
    await second.stop();
  }
});

it('card.restart answers, restarts, and keeps everything; card.restore {delete:true} wipes notes, keeps identity', async () => {
  const sim = await startSim(['--tcp', '0']);
  const { card, close } = await connectTcp(sim);
  try {
    await card.transaction({ req: 'hub.set', product: 'com.example:restart' });
    await card.transaction({ req: 'note.add', file: 'keep.qo', body: { k: 1 } });
    expect(await card.transaction({ req: 'card.restart' })).toEqual({});
    expect(await card.transaction({ req: 'hub.get' })).toMatchObject({ product: 'com.example:restart', device: sim.device });
    expect((await card.transaction({ req: 'file.stats' })).total).toBe(1);

    expect(await card.transaction({ req: 'card.restore', delete: true })).toEqual({});
    expect((await card.transaction({ req: 'card.version' })).device).toBe(sim.device);
    expect((await card.transaction({ req: 'file.stats' })).total ?? 0).toBe(0);
    expect((await card.transaction({ req: 'hub.get' })).product).toBeUndefined();
  } finally {
    close();
    await sim.stop();
  }
});
