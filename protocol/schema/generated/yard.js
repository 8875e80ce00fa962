import { decodeMessage, encodeMessage, enumeration, message, streamMessage } from 'protons-runtime';
import { alloc as uint8ArrayAlloc } from 'uint8arrays/alloc';
export var YardEnvelope;
(function (YardEnvelope) {
    let _codec;
    YardEnvelope.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                obj = { ...obj };
                if (obj.error != null) {
                    obj.logsReply = undefined;
                    obj.logsRequest = undefined;
                    obj.imageLoaded = undefined;
                    obj.imageChunk = undefined;
                    obj.imageStatus = undefined;
                    obj.imageOffer = undefined;
                }
                if (obj.logsReply != null) {
                    obj.error = undefined;
                    obj.logsRequest = undefined;
                    obj.imageLoaded = undefined;
                    obj.imageChunk = undefined;
                    obj.imageStatus = undefined;
                    obj.imageOffer = undefined;
                }
                if (obj.logsRequest != null) {
                    obj.error = undefined;
                    obj.logsReply = undefined;
                    obj.imageLoaded = undefined;
                    obj.imageChunk = undefined;
                    obj.imageStatus = undefined;
                    obj.imageOffer = undefined;
                }
                if (obj.imageLoaded != null) {
                    obj.error = undefined;
                    obj.logsReply = undefined;
                    obj.logsRequest = undefined;
                    obj.imageChunk = undefined;
                    obj.imageStatus = undefined;
                    obj.imageOffer = undefined;
                }
                if (obj.imageChunk != null) {
                    obj.error = undefined;
                    obj.logsReply = undefined;
                    obj.logsRequest = undefined;
                    obj.imageLoaded = undefined;
                    obj.imageStatus = undefined;
                    obj.imageOffer = undefined;
                }
                if (obj.imageStatus != null) {
                    obj.error = undefined;
                    obj.logsReply = undefined;
                    obj.logsRequest = undefined;
                    obj.imageLoaded = undefined;
                    obj.imageChunk = undefined;
                    obj.imageOffer = undefined;
                }
                if (obj.imageOffer != null) {
                    obj.error = undefined;
                    obj.logsReply = undefined;
                    obj.logsRequest = undefined;
                    obj.imageLoaded = undefined;
                    obj.imageChunk = undefined;
                    obj.imageStatus = undefined;
                }
                if (obj.imageOffer != null) {
                    w.uint32(10);
                    ImageOffer.codec().encode(obj.imageOffer, w);
                }
                if (obj.imageStatus != null) {
                    w.uint32(18);
                    ImageStatus.codec().encode(obj.imageStatus, w);
                }
                if (obj.imageChunk != null) {
                    w.uint32(26);
                    ImageChunk.codec().encode(obj.imageChunk, w);
                }
                if (obj.imageLoaded != null) {
                    w.uint32(34);
                    ImageLoaded.codec().encode(obj.imageLoaded, w);
                }
                if (obj.logsRequest != null) {
                    w.uint32(42);
                    LogsRequest.codec().encode(obj.logsRequest, w);
                }
                if (obj.logsReply != null) {
                    w.uint32(50);
                    LogsReply.codec().encode(obj.logsReply, w);
                }
                if (obj.error != null) {
                    w.uint32(58);
                    YardError.codec().encode(obj.error, w);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {};
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.imageOffer = ImageOffer.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.imageOffer
                            });
                            break;
                        }
                        case 2: {
                            obj.imageStatus = ImageStatus.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.imageStatus
                            });
                            break;
                        }
                        case 3: {
                            obj.imageChunk = ImageChunk.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.imageChunk
                            });
                            break;
                        }
                        case 4: {
                            obj.imageLoaded = ImageLoaded.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.imageLoaded
                            });
                            break;
                        }
                        case 5: {
                            obj.logsRequest = LogsRequest.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.logsRequest
                            });
                            break;
                        }
                        case 6: {
                            obj.logsReply = LogsReply.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.logsReply
                            });
                            break;
                        }
                        case 7: {
                            obj.error = YardError.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.error
                            });
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
                if (obj.error != null) {
                    delete obj.logsReply;
                    delete obj.logsRequest;
                    delete obj.imageLoaded;
                    delete obj.imageChunk;
                    delete obj.imageStatus;
                    delete obj.imageOffer;
                }
                if (obj.logsReply != null) {
                    delete obj.error;
                    delete obj.logsRequest;
                    delete obj.imageLoaded;
                    delete obj.imageChunk;
                    delete obj.imageStatus;
                    delete obj.imageOffer;
                }
                if (obj.logsRequest != null) {
                    delete obj.error;
                    delete obj.logsReply;
                    delete obj.imageLoaded;
                    delete obj.imageChunk;
                    delete obj.imageStatus;
                    delete obj.imageOffer;
                }
                if (obj.imageLoaded != null) {
                    delete obj.error;
                    delete obj.logsReply;
                    delete obj.logsRequest;
                    delete obj.imageChunk;
                    delete obj.imageStatus;
                    delete obj.imageOffer;
                }
                if (obj.imageChunk != null) {
                    delete obj.error;
                    delete obj.logsReply;
                    delete obj.logsRequest;
                    delete obj.imageLoaded;
                    delete obj.imageStatus;
                    delete obj.imageOffer;
                }
                if (obj.imageStatus != null) {
                    delete obj.error;
                    delete obj.logsReply;
                    delete obj.logsRequest;
                    delete obj.imageLoaded;
                    delete obj.imageChunk;
                    delete obj.imageOffer;
                }
                if (obj.imageOffer != null) {
                    delete obj.error;
                    delete obj.logsReply;
                    delete obj.logsRequest;
                    delete obj.imageLoaded;
                    delete obj.imageChunk;
                    delete obj.imageStatus;
                }
                return obj;
            }, function* (reader, length, prefix, opts = {}) {
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            yield* ImageOffer.codec().stream(reader, reader.uint32(), `${prefix}.imageOffer`, {
                                limits: opts.limits?.imageOffer
                            });
                            break;
                        }
                        case 2: {
                            yield* ImageStatus.codec().stream(reader, reader.uint32(), `${prefix}.imageStatus`, {
                                limits: opts.limits?.imageStatus
                            });
                            break;
                        }
                        case 3: {
                            yield* ImageChunk.codec().stream(reader, reader.uint32(), `${prefix}.imageChunk`, {
                                limits: opts.limits?.imageChunk
                            });
                            break;
                        }
                        case 4: {
                            yield* ImageLoaded.codec().stream(reader, reader.uint32(), `${prefix}.imageLoaded`, {
                                limits: opts.limits?.imageLoaded
                            });
                            break;
                        }
                        case 5: {
                            yield* LogsRequest.codec().stream(reader, reader.uint32(), `${prefix}.logsRequest`, {
                                limits: opts.limits?.logsRequest
                            });
                            break;
                        }
                        case 6: {
                            yield* LogsReply.codec().stream(reader, reader.uint32(), `${prefix}.logsReply`, {
                                limits: opts.limits?.logsReply
                            });
                            break;
                        }
                        case 7: {
                            yield* YardError.codec().stream(reader, reader.uint32(), `${prefix}.error`, {
                                limits: opts.limits?.error
                            });
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
            });
        }
        return _codec;
    };
    function encode(obj) {
        return encodeMessage(obj, YardEnvelope.codec());
    }
    YardEnvelope.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, YardEnvelope.codec(), opts);
    }
    YardEnvelope.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, YardEnvelope.codec(), opts);
    }
    YardEnvelope.stream = stream;
})(YardEnvelope || (YardEnvelope = {}));
export var LeaseAccess;
(function (LeaseAccess) {
    let _codec;
    LeaseAccess.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if ((obj.leaseId != null && obj.leaseId !== 0n)) {
                    w.uint32(8);
                    writeUint64(w, obj.leaseId);
                }
                if ((obj.expires != null && obj.expires !== 0n)) {
                    w.uint32(16);
                    writeUint64(w, obj.expires);
                }
                if ((obj.signature != null && obj.signature.byteLength > 0)) {
                    w.uint32(26);
                    w.bytes(obj.signature);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    leaseId: 0n,
                    expires: 0n,
                    signature: uint8ArrayAlloc(0)
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.leaseId = reader.uint64();
                            break;
                        }
                        case 2: {
                            obj.expires = reader.uint64();
                            break;
                        }
                        case 3: {
                            obj.signature = reader.bytes();
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
                return obj;
            }, function* (reader, length, prefix, opts = {}) {
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            yield {
                                field: `${prefix}.leaseId`,
                                value: reader.uint64()
                            };
                            break;
                        }
                        case 2: {
                            yield {
                                field: `${prefix}.expires`,
                                value: reader.uint64()
                            };
                            break;
                        }
                        case 3: {
                            yield {
                                field: `${prefix}.signature`,
                                value: reader.bytes()
                            };
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
            });
        }
        return _codec;
    };
    function encode(obj) {
        return encodeMessage(obj, LeaseAccess.codec());
    }
    LeaseAccess.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, LeaseAccess.codec(), opts);
    }
    LeaseAccess.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, LeaseAccess.codec(), opts);
    }
    LeaseAccess.stream = stream;
})(LeaseAccess || (LeaseAccess = {}));
export var ImageOffer;
(function (ImageOffer) {
    let _codec;
    ImageOffer.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if (obj.access != null) {
                    w.uint32(10);
                    LeaseAccess.codec().encode(obj.access, w);
                }
                if ((obj.imageId != null && obj.imageId.byteLength > 0)) {
                    w.uint32(18);
                    w.bytes(obj.imageId);
                }
                if ((obj.tarSha256 != null && obj.tarSha256.byteLength > 0)) {
                    w.uint32(26);
                    w.bytes(obj.tarSha256);
                }
                if ((obj.size != null && obj.size !== 0n)) {
                    w.uint32(32);
                    writeUint64(w, obj.size);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    imageId: uint8ArrayAlloc(0),
                    tarSha256: uint8ArrayAlloc(0),
                    size: 0n
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.access = LeaseAccess.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.access
                            });
                            break;
                        }
                        case 2: {
                            obj.imageId = reader.bytes();
                            break;
                        }
                        case 3: {
                            obj.tarSha256 = reader.bytes();
                            break;
                        }
                        case 4: {
                            obj.size = reader.uint64();
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
                return obj;
            }, function* (reader, length, prefix, opts = {}) {
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            yield* LeaseAccess.codec().stream(reader, reader.uint32(), `${prefix}.access`, {
                                limits: opts.limits?.access
                            });
                            break;
                        }
                        case 2: {
                            yield {
                                field: `${prefix}.imageId`,
                                value: reader.bytes()
                            };
                            break;
                        }
                        case 3: {
                            yield {
                                field: `${prefix}.tarSha256`,
                                value: reader.bytes()
                            };
                            break;
                        }
                        case 4: {
                            yield {
                                field: `${prefix}.size`,
                                value: reader.uint64()
                            };
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
            });
        }
        return _codec;
    };
    function encode(obj) {
        return encodeMessage(obj, ImageOffer.codec());
    }
    ImageOffer.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, ImageOffer.codec(), opts);
    }
    ImageOffer.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, ImageOffer.codec(), opts);
    }
    ImageOffer.stream = stream;
})(ImageOffer || (ImageOffer = {}));
export var ImageStatus;
(function (ImageStatus) {
    let _codec;
    ImageStatus.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if ((obj.present != null && obj.present !== false)) {
                    w.uint32(8);
                    w.bool(obj.present);
                }
                if ((obj.offset != null && obj.offset !== 0n)) {
                    w.uint32(16);
                    writeUint64(w, obj.offset);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    present: false,
                    offset: 0n
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.present = reader.bool();
                            break;
                        }
                        case 2: {
                            obj.offset = reader.uint64();
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
                return obj;
            }, function* (reader, length, prefix, opts = {}) {
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            yield {
                                field: `${prefix}.present`,
                                value: reader.bool()
                            };
                            break;
                        }
                        case 2: {
                            yield {
                                field: `${prefix}.offset`,
                                value: reader.uint64()
                            };
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
            });
        }
        return _codec;
    };
    function encode(obj) {
        return encodeMessage(obj, ImageStatus.codec());
    }
    ImageStatus.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, ImageStatus.codec(), opts);
    }
    ImageStatus.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, ImageStatus.codec(), opts);
    }
    ImageStatus.stream = stream;
})(ImageStatus || (ImageStatus = {}));
export var ImageChunk;
(function (ImageChunk) {
    let _codec;
    ImageChunk.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if ((obj.offset != null && obj.offset !== 0n)) {
                    w.uint32(8);
                    writeUint64(w, obj.offset);
                }
                if ((obj.data != null && obj.data.byteLength > 0)) {
                    w.uint32(18);
                    w.bytes(obj.data);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    offset: 0n,
                    data: uint8ArrayAlloc(0)
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.offset = reader.uint64();
                            break;
                        }
                        case 2: {
                            obj.data = reader.bytes();
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
                return obj;
            }, function* (reader, length, prefix, opts = {}) {
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            yield {
                                field: `${prefix}.offset`,
                                value: reader.uint64()
                            };
                            break;
                        }
                        case 2: {
                            yield {
                                field: `${prefix}.data`,
                                value: reader.bytes()
                            };
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
            });
        }
        return _codec;
    };
    function encode(obj) {
        return encodeMessage(obj, ImageChunk.codec());
    }
    ImageChunk.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, ImageChunk.codec(), opts);
    }
    ImageChunk.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, ImageChunk.codec(), opts);
    }
    ImageChunk.stream = stream;
})(ImageChunk || (ImageChunk = {}));
export var ImageLoaded;
(function (ImageLoaded) {
    let _codec;
    ImageLoaded.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if ((obj.imageId != null && obj.imageId.byteLength > 0)) {
                    w.uint32(10);
                    w.bytes(obj.imageId);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    imageId: uint8ArrayAlloc(0)
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.imageId = reader.bytes();
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
                return obj;
            }, function* (reader, length, prefix, opts = {}) {
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            yield {
                                field: `${prefix}.imageId`,
                                value: reader.bytes()
                            };
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
            });
        }
        return _codec;
    };
    function encode(obj) {
        return encodeMessage(obj, ImageLoaded.codec());
    }
    ImageLoaded.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, ImageLoaded.codec(), opts);
    }
    ImageLoaded.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, ImageLoaded.codec(), opts);
    }
    ImageLoaded.stream = stream;
})(ImageLoaded || (ImageLoaded = {}));
export var LogsRequest;
(function (LogsRequest) {
    let _codec;
    LogsRequest.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if (obj.access != null) {
                    w.uint32(10);
                    LeaseAccess.codec().encode(obj.access, w);
                }
                if ((obj.tail != null && obj.tail !== 0)) {
                    w.uint32(16);
                    w.uint32(obj.tail);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    tail: 0
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.access = LeaseAccess.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.access
                            });
                            break;
                        }
                        case 2: {
                            obj.tail = reader.uint32();
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
                return obj;
            }, function* (reader, length, prefix, opts = {}) {
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            yield* LeaseAccess.codec().stream(reader, reader.uint32(), `${prefix}.access`, {
                                limits: opts.limits?.access
                            });
                            break;
                        }
                        case 2: {
                            yield {
                                field: `${prefix}.tail`,
                                value: reader.uint32()
                            };
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
            });
        }
        return _codec;
    };
    function encode(obj) {
        return encodeMessage(obj, LogsRequest.codec());
    }
    LogsRequest.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, LogsRequest.codec(), opts);
    }
    LogsRequest.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, LogsRequest.codec(), opts);
    }
    LogsRequest.stream = stream;
})(LogsRequest || (LogsRequest = {}));
export var LogsReply;
(function (LogsReply) {
    let _codec;
    LogsReply.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if ((obj.state != null && obj.state !== '')) {
                    w.uint32(10);
                    w.string(obj.state);
                }
                if ((obj.exitCode != null && obj.exitCode !== 0)) {
                    w.uint32(16);
                    w.int32(obj.exitCode);
                }
                if ((obj.oomKilled != null && obj.oomKilled !== false)) {
                    w.uint32(24);
                    w.bool(obj.oomKilled);
                }
                if ((obj.restarts != null && obj.restarts !== 0)) {
                    w.uint32(32);
                    w.uint32(obj.restarts);
                }
                if ((obj.text != null && obj.text !== '')) {
                    w.uint32(42);
                    w.string(obj.text);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    state: '',
                    exitCode: 0,
                    oomKilled: false,
                    restarts: 0,
                    text: ''
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.state = readStrictString(reader);
                            break;
                        }
                        case 2: {
                            obj.exitCode = reader.int32();
                            break;
                        }
                        case 3: {
                            obj.oomKilled = reader.bool();
                            break;
                        }
                        case 4: {
                            obj.restarts = reader.uint32();
                            break;
                        }
                        case 5: {
                            obj.text = readStrictString(reader);
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
                return obj;
            }, function* (reader, length, prefix, opts = {}) {
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            yield {
                                field: `${prefix}.state`,
                                value: readStrictString(reader)
                            };
                            break;
                        }
                        case 2: {
                            yield {
                                field: `${prefix}.exitCode`,
                                value: reader.int32()
                            };
                            break;
                        }
                        case 3: {
                            yield {
                                field: `${prefix}.oomKilled`,
                                value: reader.bool()
                            };
                            break;
                        }
                        case 4: {
                            yield {
                                field: `${prefix}.restarts`,
                                value: reader.uint32()
                            };
                            break;
                        }
                        case 5: {
                            yield {
                                field: `${prefix}.text`,
                                value: readStrictString(reader)
                            };
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
            });
        }
        return _codec;
    };
    function encode(obj) {
        return encodeMessage(obj, LogsReply.codec());
    }
    LogsReply.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, LogsReply.codec(), opts);
    }
    LogsReply.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, LogsReply.codec(), opts);
    }
    LogsReply.stream = stream;
})(LogsReply || (LogsReply = {}));
export var YardErrorCode;
(function (YardErrorCode) {
    YardErrorCode["YARD_ERROR_UNSPECIFIED"] = "YARD_ERROR_UNSPECIFIED";
    YardErrorCode["DENIED"] = "DENIED";
    YardErrorCode["UNKNOWN_LEASE"] = "UNKNOWN_LEASE";
    YardErrorCode["BAD_IMAGE"] = "BAD_IMAGE";
    YardErrorCode["BAD_FRAME"] = "BAD_FRAME";
    YardErrorCode["INTERNAL"] = "INTERNAL";
    YardErrorCode["BUSY"] = "BUSY";
})(YardErrorCode || (YardErrorCode = {}));
var __YardErrorCodeValues;
(function (__YardErrorCodeValues) {
    __YardErrorCodeValues[__YardErrorCodeValues["YARD_ERROR_UNSPECIFIED"] = 0] = "YARD_ERROR_UNSPECIFIED";
    __YardErrorCodeValues[__YardErrorCodeValues["DENIED"] = 1] = "DENIED";
    __YardErrorCodeValues[__YardErrorCodeValues["UNKNOWN_LEASE"] = 2] = "UNKNOWN_LEASE";
    __YardErrorCodeValues[__YardErrorCodeValues["BAD_IMAGE"] = 3] = "BAD_IMAGE";
    __YardErrorCodeValues[__YardErrorCodeValues["BAD_FRAME"] = 4] = "BAD_FRAME";
    __YardErrorCodeValues[__YardErrorCodeValues["INTERNAL"] = 5] = "INTERNAL";
    __YardErrorCodeValues[__YardErrorCodeValues["BUSY"] = 6] = "BUSY";
})(__YardErrorCodeValues || (__YardErrorCodeValues = {}));
(function (YardErrorCode) {
    YardErrorCode.codec = () => {
        return enumeration(__YardErrorCodeValues);
    };
})(YardErrorCode || (YardErrorCode = {}));
export var YardError;
(function (YardError) {
    let _codec;
    YardError.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if (obj.code != null && __YardErrorCodeValues[obj.code] !== 0) {
                    w.uint32(8);
                    YardErrorCode.codec().encode(obj.code, w);
                }
                if ((obj.message != null && obj.message !== '')) {
                    w.uint32(18);
                    w.string(obj.message);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    code: YardErrorCode.YARD_ERROR_UNSPECIFIED,
                    message: ''
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.code = YardErrorCode.codec().decode(reader);
                            break;
                        }
                        case 2: {
                            obj.message = readStrictString(reader);
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
                return obj;
            }, function* (reader, length, prefix, opts = {}) {
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            yield {
                                field: `${prefix}.code`,
                                value: YardErrorCode.codec().decode(reader)
                            };
                            break;
                        }
                        case 2: {
                            yield {
                                field: `${prefix}.message`,
                                value: readStrictString(reader)
                            };
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
            });
        }
        return _codec;
    };
    function encode(obj) {
        return encodeMessage(obj, YardError.codec());
    }
    YardError.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, YardError.codec(), opts);
    }
    YardError.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, YardError.codec(), opts);
    }
    YardError.stream = stream;
})(YardError || (YardError = {}));
/** Strict UTF-8 for string fields (see scripts/generate.ts). */
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
function readStrictString(reader) {
    return strictUtf8.decode(reader.bytes());
}
/** Workaround for protons-runtime's uint64 writer (see scripts/generate.ts). */
function writeUint64(w, v) {
    if (v <= 9007199254740991n)
        w.uint64Number(Number(v));
    else
        w.uint64(v);
}
