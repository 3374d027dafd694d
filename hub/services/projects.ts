/** Projects, their products and fleets, and who may reach them. */
import { newId } from '../auth';
import type { FleetRecord, ProductRecord, ProjectRecord } from '../store/types';
import { productUidError } from '../../src/rules/names';
import { HubError, seconds, type Principal, type ServiceContext } from './common';

export class ProjectService {
  readonly #ctx: ServiceContext;

  constructor(ctx: ServiceContext) { this.#ctx = ctx; }

  async project(uid: string): Promise<ProjectRecord> {
    const p = await this.#ctx.store.project(uid);
    if (!p) throw new HubError(404, `project not found: ${uid}`);
    return p;
  }

  /** `{P}` in a path may name a project or one of its products. */
  async resolveProject(projectOrProduct: string): Promise<ProjectRecord> {
    if (projectOrProduct.startsWith('app:')) return this.project(projectOrProduct);
    const prod = await this.#ctx.store.product(projectOrProduct);
    if (!prod) throw new HubError(404, `project not found: ${projectOrProduct}`);
    return this.project(prod.projectUID);
  }

  /** The project if the principal may reach it (404 unknown, 403 not theirs). */
  async authorize(p: Principal, projectOrProduct: string): Promise<ProjectRecord> {
    const proj = await this.resolveProject(projectOrProduct);
    const ok = p.kind === 'client' ? p.projectUID === proj.uid : await this.#ctx.store.isMember(proj.uid, p.userId);
    if (!ok) throw new HubError(403, 'this token does not give access to that project');
    return proj;
  }

  async projectsOf(p: Principal): Promise<ProjectRecord[]> {
    if (p.kind === 'client') return [await this.project(p.projectUID)];
    return this.#ctx.store.projectsOfUser(p.userId);
  }

  async createProject(username: string, label: string): Promise<ProjectRecord> {
    const u = await this.#ctx.store.userByName(username);
    if (!u) throw new HubError(404, `no user ${username}`);
    return this.createProjectFor(u.id, label);
  }
  async createProjectFor(userId: number, label: string): Promise<ProjectRecord> {
    if (!label || label.length > 256) throw new HubError(400, 'a project label is 1-256 characters');
    const rec: ProjectRecord = { uid: newId('app:'), label, created: seconds(this.#ctx), ownerId: userId };
    await this.#ctx.store.createProject(rec);
    return rec;
  }

  // ---------------------------------------------------------------- products

  /** The project's members and their roles (a member is a user of this hub, known by username). */
  members(projectUID: string): Promise<{ username: string; role: string }[]> { return this.#ctx.store.members(projectUID); }

  products(projectUID: string): Promise<ProductRecord[]> { return this.#ctx.store.productsOf(projectUID); }

  /** A product by UID, any project (404 if unknown). */
  async product(productUID: string): Promise<ProductRecord> {
    const prod = await this.#ctx.store.product(productUID);
    if (!prod) throw new HubError(404, `product not found: ${productUID}`);
    return prod;
  }

  /** A product of this project (404 otherwise). */
  async productIn(projectUID: string, productUID: string): Promise<ProductRecord> {
    const prod = await this.#ctx.store.product(productUID);
    if (!prod || prod.projectUID !== projectUID) throw new HubError(404, `product not found in this project: ${productUID}`);
    return prod;
  }

  async createProduct(projectUID: string, productUID: string, label = '', opts: { disableDevicesByDefault?: boolean; autoProvisionFleets?: string[] } = {}): Promise<ProductRecord> {
    const p = await this.project(projectUID);
    if (productUidError(productUID) !== undefined) {
      throw new HubError(400, 'product UID looks like com.example.user:product');
    }
    if (await this.#ctx.store.product(productUID)) throw new HubError(409, `product ${productUID} exists`);
    // default fleets must be this project's (another project's fleet would hand its environment out)
    for (const f of opts.autoProvisionFleets ?? []) await this.fleetIn(p.uid, f);
    const rec: ProductRecord = { uid: productUID, projectUID: p.uid, label: label || productUID, created: seconds(this.#ctx),
      disableDevicesByDefault: !!opts.disableDevicesByDefault, autoProvisionFleets: opts.autoProvisionFleets ?? [] };
    await this.#ctx.store.createProduct(rec);
    return rec;
  }

  // ---------------------------------------------------------------- fleets

  fleets(projectUID: string): Promise<FleetRecord[]> { return this.#ctx.store.fleetsOf(projectUID); }

  async createFleet(projectUID: string, label: string): Promise<FleetRecord> {
    const rec: FleetRecord = { uid: newId('fleet:'), projectUID, label, created: seconds(this.#ctx) };
    await this.#ctx.store.createFleet(rec);
    return rec;
  }

  async fleetIn(projectUID: string, fleetUID: string): Promise<FleetRecord> {
    const f = await this.#ctx.store.fleet(fleetUID);
    if (!f || f.projectUID !== projectUID) throw new HubError(404, `fleet not found: ${fleetUID}`);
    return f;
  }

  /** A new label (an empty one leaves it as it is). */
  async renameFleet(projectUID: string, fleetUID: string, label: string | undefined): Promise<FleetRecord> {
    const f = await this.fleetIn(projectUID, fleetUID);
    if (label) await this.#ctx.store.updateFleet(f.uid, label);
    return this.fleetIn(projectUID, f.uid);
  }

  async deleteFleet(projectUID: string, fleetUID: string): Promise<void> {
    await this.#ctx.store.deleteFleet((await this.fleetIn(projectUID, fleetUID)).uid);
  }
}
