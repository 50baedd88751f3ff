import type { Collection } from 'mongodb';
import { expandApprovers, groupProblems, referencedGroups, type ResolvedApprovers } from '../common/approver-groups';
import type { MongoHandle } from './mongo';

/** One approver group, keyed by its name. */
interface GroupDocument {
  _id: string;
  members: string[];
  updatedAt: Date;
  /** Who saved it last: the API token's name; absent when not saved through the API. */
  author?: string;
}

/** An approver group as the API shows it. */
export interface ApproverGroup {
  readonly name: string;
  readonly members: readonly string[];
  readonly updatedAt: Date;
  /** Who saved it last; null when that was not recorded. */
  readonly author: string | null;
}

/** What a save did. */
export interface GroupSaveResult {
  readonly group: ApproverGroup;
  /** True when no group of that name existed. */
  readonly created: boolean;
  /** True when the members were already these: nothing was written. */
  readonly unchanged: boolean;
}

/** A group that cannot be stored, with every problem and its path (`name`, `members[2]`). */
export class GroupValidationError extends Error {
  constructor(readonly errors: readonly { path: string; message: string }[]) {
    super(`invalid approver group: ${errors.map((error) => `${error.path}: ${error.message}`).join('; ')}`);
    this.name = 'GroupValidationError';
  }
}

/**
 * Approver groups in the collection `approver_groups`, one document per group with the name as `_id`: every read and
 * write of one group is by `_id`, the only filter FerretDB v1 pushes down. A save replaces the whole document, so
 * concurrent saves of one group leave one of them, whole. Running approvals never read this again: they keep the
 * members they expanded when they opened.
 */
export class GroupStore {
  private readonly groups: Collection<GroupDocument>;

  /** Touches nothing until the first call; every call connects through {@link MongoHandle.connected} first. */
  constructor(
    private readonly mongo: MongoHandle,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.groups = mongo.db.collection<GroupDocument>('approver_groups');
  }

  /** Groups in name order, `limit` of them after the name `after`. */
  async list(options: { after?: string; limit: number }): Promise<ApproverGroup[]> {
    await this.mongo.connected();
    const filter = options.after === undefined ? {} : { _id: { $gt: options.after } };
    const documents = await this.groups.find(filter).sort({ _id: 1 }).limit(options.limit).toArray();
    return documents.map(groupOf);
  }

  /** The group of that name, or null. */
  async get(name: string): Promise<ApproverGroup | null> {
    await this.mongo.connected();
    const document = await this.groups.findOne({ _id: name });
    return document ? groupOf(document) : null;
  }

  /**
   * Creates or replaces a group, recording `author`; throws {@link GroupValidationError} for a bad name or members.
   * Saving the members it already has writes nothing.
   */
  async put(name: string, members: unknown, author?: string): Promise<GroupSaveResult> {
    const problems = groupProblems(name, members);
    if (problems.length > 0) throw new GroupValidationError(problems);
    const list = members as string[];
    await this.mongo.connected();
    const current = await this.groups.findOne({ _id: name });
    if (current && sameMembers(current.members, list))
      return { group: groupOf(current), created: false, unchanged: true };
    const document: GroupDocument = {
      _id: name,
      members: [...list],
      updatedAt: this.now(),
      ...(author === undefined ? {} : { author }),
    };
    const written = await this.groups.replaceOne({ _id: name }, document, { upsert: true });
    return { group: groupOf(document), created: written.upsertedCount > 0, unchanged: false };
  }

  /** Deletes a group; false when there was none. Approvals that already expanded it keep its members. */
  async delete(name: string): Promise<boolean> {
    await this.mongo.connected();
    const deleted = await this.groups.deleteOne({ _id: name });
    return deleted.deletedCount > 0;
  }

  /**
   * Expands the `group:<name>` entries of an approval's approvers with one read per distinct group (by `_id`). A
   * group that does not exist is missing from `groups` and contributes no approvers; the approval reports it.
   */
  async resolve(approvers: readonly string[]): Promise<ResolvedApprovers> {
    await this.mongo.connected();
    const names = referencedGroups(approvers);
    const found = await Promise.all(names.map((name) => this.groups.findOne({ _id: name })));
    const groups: Record<string, string[]> = {};
    for (const document of found) if (document) groups[document._id] = document.members;
    return { approvers: expandApprovers(approvers, groups), groups };
  }
}

function groupOf(document: GroupDocument): ApproverGroup {
  return {
    name: document._id,
    members: document.members,
    updatedAt: document.updatedAt,
    author: document.author ?? null,
  };
}

function sameMembers(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((member, index) => member === b[index]);
}
