import { type ArgumentMetadata, Injectable, ParseUUIDPipe } from '@nestjs/common';

/**
 * An item id from the URL: a UUID (400 otherwise), in lower case. UUIDs are case-insensitive on input (RFC 9562)
 * and items are created and stored under `randomUUID()`'s lower case: an id written in upper case names the same item.
 */
@Injectable()
export class ParseItemIdPipe extends ParseUUIDPipe {
  override async transform(value: string, metadata: ArgumentMetadata): Promise<string> {
    // The parent answers 400 for anything but a UUID string; `optional` (which lets null through) is not set.
    return String(await super.transform(value, metadata)).toLowerCase();
  }
}
