impl serde::Serialize for Color {
    #[allow(deprecated)]
    fn serialize<S>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error>
    where
        S: serde::Serializer,
    {
        let variant = match self {
            Self::Unspecified => "COLOR_UNSPECIFIED",
            Self::Red => "COLOR_RED",
            Self::Green => "COLOR_GREEN",
        };
        serializer.serialize_str(variant)
    }
}
impl<'de> serde::Deserialize<'de> for Color {
    #[allow(deprecated)]
    fn deserialize<D>(deserializer: D) -> std::result::Result<Self, D::Error>
    where
        D: serde::Deserializer<'de>,
    {
        const FIELDS: &[&str] = &[
            "COLOR_UNSPECIFIED",
            "COLOR_RED",
            "COLOR_GREEN",
        ];

        struct GeneratedVisitor;

        impl serde::de::Visitor<'_> for GeneratedVisitor {
            type Value = Color;

            fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(formatter, "expected one of: {:?}", &FIELDS)
            }

            fn visit_i64<E>(self, v: i64) -> std::result::Result<Self::Value, E>
            where
                E: serde::de::Error,
            {
                i32::try_from(v)
                    .ok()
                    .and_then(|x| x.try_into().ok())
                    .ok_or_else(|| {
                        serde::de::Error::invalid_value(serde::de::Unexpected::Signed(v), &self)
                    })
            }

            fn visit_u64<E>(self, v: u64) -> std::result::Result<Self::Value, E>
            where
                E: serde::de::Error,
            {
                i32::try_from(v)
                    .ok()
                    .and_then(|x| x.try_into().ok())
                    .ok_or_else(|| {
                        serde::de::Error::invalid_value(serde::de::Unexpected::Unsigned(v), &self)
                    })
            }

            fn visit_str<E>(self, value: &str) -> std::result::Result<Self::Value, E>
            where
                E: serde::de::Error,
            {
                match value {
                    "COLOR_UNSPECIFIED" => Ok(Color::Unspecified),
                    "COLOR_RED" => Ok(Color::Red),
                    "COLOR_GREEN" => Ok(Color::Green),
                    _ => Err(serde::de::Error::unknown_variant(value, FIELDS)),
                }
            }
        }
        deserializer.deserialize_any(GeneratedVisitor)
    }
}
impl serde::Serialize for Nested {
    #[allow(deprecated)]
    fn serialize<S>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error>
    where
        S: serde::Serializer,
    {
        use serde::ser::SerializeStruct;
        let mut len = 0;
        if self.id != 0 {
            len += 1;
        }
        if !self.label.is_empty() {
            len += 1;
        }
        let mut struct_ser = serializer.serialize_struct("echo.v1.Nested", len)?;
        if self.id != 0 {
            #[allow(clippy::needless_borrow)]
            #[allow(clippy::needless_borrows_for_generic_args)]
            struct_ser.serialize_field("id", ToString::to_string(&self.id).as_str())?;
        }
        if !self.label.is_empty() {
            struct_ser.serialize_field("label", &self.label)?;
        }
        struct_ser.end()
    }
}
impl<'de> serde::Deserialize<'de> for Nested {
    #[allow(deprecated)]
    fn deserialize<D>(deserializer: D) -> std::result::Result<Self, D::Error>
    where
        D: serde::Deserializer<'de>,
    {
        const FIELDS: &[&str] = &[
            "id",
            "label",
        ];

        #[allow(clippy::enum_variant_names)]
        enum GeneratedField {
            Id,
            Label,
        }
        impl<'de> serde::Deserialize<'de> for GeneratedField {
            fn deserialize<D>(deserializer: D) -> std::result::Result<GeneratedField, D::Error>
            where
                D: serde::Deserializer<'de>,
            {
                struct GeneratedVisitor;

                impl serde::de::Visitor<'_> for GeneratedVisitor {
                    type Value = GeneratedField;

                    fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        write!(formatter, "expected one of: {:?}", &FIELDS)
                    }

                    #[allow(unused_variables)]
                    fn visit_str<E>(self, value: &str) -> std::result::Result<GeneratedField, E>
                    where
                        E: serde::de::Error,
                    {
                        match value {
                            "id" => Ok(GeneratedField::Id),
                            "label" => Ok(GeneratedField::Label),
                            _ => Err(serde::de::Error::unknown_field(value, FIELDS)),
                        }
                    }
                }
                deserializer.deserialize_identifier(GeneratedVisitor)
            }
        }
        struct GeneratedVisitor;
        impl<'de> serde::de::Visitor<'de> for GeneratedVisitor {
            type Value = Nested;

            fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                formatter.write_str("struct echo.v1.Nested")
            }

            fn visit_map<V>(self, mut map_: V) -> std::result::Result<Nested, V::Error>
                where
                    V: serde::de::MapAccess<'de>,
            {
                let mut id__ = None;
                let mut label__ = None;
                while let Some(k) = map_.next_key()? {
                    match k {
                        GeneratedField::Id => {
                            if id__.is_some() {
                                return Err(serde::de::Error::duplicate_field("id"));
                            }
                            id__ = 
                                Some(map_.next_value::<::pbjson::private::NumberDeserialize<_>>()?.0)
                            ;
                        }
                        GeneratedField::Label => {
                            if label__.is_some() {
                                return Err(serde::de::Error::duplicate_field("label"));
                            }
                            label__ = Some(map_.next_value()?);
                        }
                    }
                }
                Ok(Nested {
                    id: id__.unwrap_or_default(),
                    label: label__.unwrap_or_default(),
                })
            }
        }
        deserializer.deserialize_struct("echo.v1.Nested", FIELDS, GeneratedVisitor)
    }
}
impl serde::Serialize for Plain {
    #[allow(deprecated)]
    fn serialize<S>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error>
    where
        S: serde::Serializer,
    {
        use serde::ser::SerializeStruct;
        let mut len = 0;
        if !self.name.is_empty() {
            len += 1;
        }
        if self.big_count != 0 {
            len += 1;
        }
        if self.unsigned_count != 0 {
            len += 1;
        }
        if self.is_active {
            len += 1;
        }
        if !self.data.is_empty() {
            len += 1;
        }
        if self.color != 0 {
            len += 1;
        }
        if !self.tags.is_empty() {
            len += 1;
        }
        if self.nested.is_some() {
            len += 1;
        }
        if !self.counts.is_empty() {
            len += 1;
        }
        if !self.colors.is_empty() {
            len += 1;
        }
        if self.limit.is_some() {
            len += 1;
        }
        if !self.names.is_empty() {
            len += 1;
        }
        if !self.ids.is_empty() {
            len += 1;
        }
        if self.small != 0 {
            len += 1;
        }
        if self.stamp != 0 {
            len += 1;
        }
        if self.choice.is_some() {
            len += 1;
        }
        let mut struct_ser = serializer.serialize_struct("echo.v1.Plain", len)?;
        if !self.name.is_empty() {
            struct_ser.serialize_field("name", &self.name)?;
        }
        if self.big_count != 0 {
            #[allow(clippy::needless_borrow)]
            #[allow(clippy::needless_borrows_for_generic_args)]
            struct_ser.serialize_field("bigCount", ToString::to_string(&self.big_count).as_str())?;
        }
        if self.unsigned_count != 0 {
            #[allow(clippy::needless_borrow)]
            #[allow(clippy::needless_borrows_for_generic_args)]
            struct_ser.serialize_field("unsignedCount", ToString::to_string(&self.unsigned_count).as_str())?;
        }
        if self.is_active {
            struct_ser.serialize_field("isActive", &self.is_active)?;
        }
        if !self.data.is_empty() {
            #[allow(clippy::needless_borrow)]
            #[allow(clippy::needless_borrows_for_generic_args)]
            struct_ser.serialize_field("data", pbjson::private::base64::encode(&self.data).as_str())?;
        }
        if self.color != 0 {
            let v = Color::try_from(self.color)
                .map_err(|_| serde::ser::Error::custom(format!("Invalid variant {}", self.color)))?;
            struct_ser.serialize_field("color", &v)?;
        }
        if !self.tags.is_empty() {
            struct_ser.serialize_field("tags", &self.tags)?;
        }
        if let Some(v) = self.nested.as_ref() {
            struct_ser.serialize_field("nested", v)?;
        }
        if !self.counts.is_empty() {
            struct_ser.serialize_field("counts", &self.counts)?;
        }
        if !self.colors.is_empty() {
            let v = self.colors.iter().cloned().map(|v| {
                Color::try_from(v)
                    .map_err(|_| serde::ser::Error::custom(format!("Invalid variant {}", v)))
                }).collect::<std::result::Result<Vec<_>, _>>()?;
            struct_ser.serialize_field("colors", &v)?;
        }
        if let Some(v) = self.limit.as_ref() {
            struct_ser.serialize_field("limit", v)?;
        }
        if !self.names.is_empty() {
            struct_ser.serialize_field("names", &self.names)?;
        }
        if !self.ids.is_empty() {
            struct_ser.serialize_field("ids", &self.ids.iter().map(ToString::to_string).collect::<Vec<_>>())?;
        }
        if self.small != 0 {
            struct_ser.serialize_field("small", &self.small)?;
        }
        if self.stamp != 0 {
            #[allow(clippy::needless_borrow)]
            #[allow(clippy::needless_borrows_for_generic_args)]
            struct_ser.serialize_field("stamp", ToString::to_string(&self.stamp).as_str())?;
        }
        if let Some(v) = self.choice.as_ref() {
            match v {
                plain::Choice::Label(v) => {
                    struct_ser.serialize_field("label", v)?;
                }
                plain::Choice::Number(v) => {
                    struct_ser.serialize_field("number", v)?;
                }
            }
        }
        struct_ser.end()
    }
}
impl<'de> serde::Deserialize<'de> for Plain {
    #[allow(deprecated)]
    fn deserialize<D>(deserializer: D) -> std::result::Result<Self, D::Error>
    where
        D: serde::Deserializer<'de>,
    {
        const FIELDS: &[&str] = &[
            "name",
            "big_count",
            "bigCount",
            "unsigned_count",
            "unsignedCount",
            "is_active",
            "isActive",
            "data",
            "color",
            "tags",
            "nested",
            "counts",
            "colors",
            "limit",
            "names",
            "ids",
            "small",
            "stamp",
            "label",
            "number",
        ];

        #[allow(clippy::enum_variant_names)]
        enum GeneratedField {
            Name,
            BigCount,
            UnsignedCount,
            IsActive,
            Data,
            Color,
            Tags,
            Nested,
            Counts,
            Colors,
            Limit,
            Names,
            Ids,
            Small,
            Stamp,
            Label,
            Number,
        }
        impl<'de> serde::Deserialize<'de> for GeneratedField {
            fn deserialize<D>(deserializer: D) -> std::result::Result<GeneratedField, D::Error>
            where
                D: serde::Deserializer<'de>,
            {
                struct GeneratedVisitor;

                impl serde::de::Visitor<'_> for GeneratedVisitor {
                    type Value = GeneratedField;

                    fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        write!(formatter, "expected one of: {:?}", &FIELDS)
                    }

                    #[allow(unused_variables)]
                    fn visit_str<E>(self, value: &str) -> std::result::Result<GeneratedField, E>
                    where
                        E: serde::de::Error,
                    {
                        match value {
                            "name" => Ok(GeneratedField::Name),
                            "bigCount" | "big_count" => Ok(GeneratedField::BigCount),
                            "unsignedCount" | "unsigned_count" => Ok(GeneratedField::UnsignedCount),
                            "isActive" | "is_active" => Ok(GeneratedField::IsActive),
                            "data" => Ok(GeneratedField::Data),
                            "color" => Ok(GeneratedField::Color),
                            "tags" => Ok(GeneratedField::Tags),
                            "nested" => Ok(GeneratedField::Nested),
                            "counts" => Ok(GeneratedField::Counts),
                            "colors" => Ok(GeneratedField::Colors),
                            "limit" => Ok(GeneratedField::Limit),
                            "names" => Ok(GeneratedField::Names),
                            "ids" => Ok(GeneratedField::Ids),
                            "small" => Ok(GeneratedField::Small),
                            "stamp" => Ok(GeneratedField::Stamp),
                            "label" => Ok(GeneratedField::Label),
                            "number" => Ok(GeneratedField::Number),
                            _ => Err(serde::de::Error::unknown_field(value, FIELDS)),
                        }
                    }
                }
                deserializer.deserialize_identifier(GeneratedVisitor)
            }
        }
        struct GeneratedVisitor;
        impl<'de> serde::de::Visitor<'de> for GeneratedVisitor {
            type Value = Plain;

            fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                formatter.write_str("struct echo.v1.Plain")
            }

            fn visit_map<V>(self, mut map_: V) -> std::result::Result<Plain, V::Error>
                where
                    V: serde::de::MapAccess<'de>,
            {
                let mut name__ = None;
                let mut big_count__ = None;
                let mut unsigned_count__ = None;
                let mut is_active__ = None;
                let mut data__ = None;
                let mut color__ = None;
                let mut tags__ = None;
                let mut nested__ = None;
                let mut counts__ = None;
                let mut colors__ = None;
                let mut limit__ = None;
                let mut names__ = None;
                let mut ids__ = None;
                let mut small__ = None;
                let mut stamp__ = None;
                let mut choice__ = None;
                while let Some(k) = map_.next_key()? {
                    match k {
                        GeneratedField::Name => {
                            if name__.is_some() {
                                return Err(serde::de::Error::duplicate_field("name"));
                            }
                            name__ = Some(map_.next_value()?);
                        }
                        GeneratedField::BigCount => {
                            if big_count__.is_some() {
                                return Err(serde::de::Error::duplicate_field("bigCount"));
                            }
                            big_count__ = 
                                Some(map_.next_value::<::pbjson::private::NumberDeserialize<_>>()?.0)
                            ;
                        }
                        GeneratedField::UnsignedCount => {
                            if unsigned_count__.is_some() {
                                return Err(serde::de::Error::duplicate_field("unsignedCount"));
                            }
                            unsigned_count__ = 
                                Some(map_.next_value::<::pbjson::private::NumberDeserialize<_>>()?.0)
                            ;
                        }
                        GeneratedField::IsActive => {
                            if is_active__.is_some() {
                                return Err(serde::de::Error::duplicate_field("isActive"));
                            }
                            is_active__ = Some(map_.next_value()?);
                        }
                        GeneratedField::Data => {
                            if data__.is_some() {
                                return Err(serde::de::Error::duplicate_field("data"));
                            }
                            data__ = 
                                Some(map_.next_value::<::pbjson::private::BytesDeserialize<_>>()?.0)
                            ;
                        }
                        GeneratedField::Color => {
                            if color__.is_some() {
                                return Err(serde::de::Error::duplicate_field("color"));
                            }
                            color__ = Some(map_.next_value::<Color>()? as i32);
                        }
                        GeneratedField::Tags => {
                            if tags__.is_some() {
                                return Err(serde::de::Error::duplicate_field("tags"));
                            }
                            tags__ = Some(map_.next_value()?);
                        }
                        GeneratedField::Nested => {
                            if nested__.is_some() {
                                return Err(serde::de::Error::duplicate_field("nested"));
                            }
                            nested__ = map_.next_value()?;
                        }
                        GeneratedField::Counts => {
                            if counts__.is_some() {
                                return Err(serde::de::Error::duplicate_field("counts"));
                            }
                            counts__ = Some(
                                map_.next_value::<std::collections::HashMap<_, ::pbjson::private::NumberDeserialize<i32>>>()?
                                    .into_iter().map(|(k,v)| (k, v.0)).collect()
                            );
                        }
                        GeneratedField::Colors => {
                            if colors__.is_some() {
                                return Err(serde::de::Error::duplicate_field("colors"));
                            }
                            colors__ = Some(map_.next_value::<Vec<Color>>()?.into_iter().map(|x| x as i32).collect());
                        }
                        GeneratedField::Limit => {
                            if limit__.is_some() {
                                return Err(serde::de::Error::duplicate_field("limit"));
                            }
                            limit__ = 
                                map_.next_value::<::std::option::Option<::pbjson::private::NumberDeserialize<_>>>()?.map(|x| x.0)
                            ;
                        }
                        GeneratedField::Names => {
                            if names__.is_some() {
                                return Err(serde::de::Error::duplicate_field("names"));
                            }
                            names__ = Some(
                                map_.next_value::<std::collections::HashMap<::pbjson::private::NumberDeserialize<i64>, _>>()?
                                    .into_iter().map(|(k,v)| (k.0, v)).collect()
                            );
                        }
                        GeneratedField::Ids => {
                            if ids__.is_some() {
                                return Err(serde::de::Error::duplicate_field("ids"));
                            }
                            ids__ = 
                                Some(map_.next_value::<Vec<::pbjson::private::NumberDeserialize<_>>>()?
                                    .into_iter().map(|x| x.0).collect())
                            ;
                        }
                        GeneratedField::Small => {
                            if small__.is_some() {
                                return Err(serde::de::Error::duplicate_field("small"));
                            }
                            small__ = 
                                Some(map_.next_value::<::pbjson::private::NumberDeserialize<_>>()?.0)
                            ;
                        }
                        GeneratedField::Stamp => {
                            if stamp__.is_some() {
                                return Err(serde::de::Error::duplicate_field("stamp"));
                            }
                            stamp__ = 
                                Some(map_.next_value::<::pbjson::private::NumberDeserialize<_>>()?.0)
                            ;
                        }
                        GeneratedField::Label => {
                            if choice__.is_some() {
                                return Err(serde::de::Error::duplicate_field("label"));
                            }
                            choice__ = map_.next_value::<::std::option::Option<_>>()?.map(plain::Choice::Label);
                        }
                        GeneratedField::Number => {
                            if choice__.is_some() {
                                return Err(serde::de::Error::duplicate_field("number"));
                            }
                            choice__ = map_.next_value::<::std::option::Option<::pbjson::private::NumberDeserialize<_>>>()?.map(|x| plain::Choice::Number(x.0));
                        }
                    }
                }
                Ok(Plain {
                    name: name__.unwrap_or_default(),
                    big_count: big_count__.unwrap_or_default(),
                    unsigned_count: unsigned_count__.unwrap_or_default(),
                    is_active: is_active__.unwrap_or_default(),
                    data: data__.unwrap_or_default(),
                    color: color__.unwrap_or_default(),
                    tags: tags__.unwrap_or_default(),
                    nested: nested__,
                    counts: counts__.unwrap_or_default(),
                    colors: colors__.unwrap_or_default(),
                    limit: limit__,
                    names: names__.unwrap_or_default(),
                    ids: ids__.unwrap_or_default(),
                    small: small__.unwrap_or_default(),
                    stamp: stamp__.unwrap_or_default(),
                    choice: choice__,
                })
            }
        }
        deserializer.deserialize_struct("echo.v1.Plain", FIELDS, GeneratedVisitor)
    }
}
